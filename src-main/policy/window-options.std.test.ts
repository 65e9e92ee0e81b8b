import { describe, expect, it } from 'vitest'
import { CONSOLE_PARTITION, consoleWindowOptions } from './window-options.std'

describe('consoleWindowOptions', () => {
  const options = consoleWindowOptions({ preloadPath: '/app/out/preload/preload.cjs', devTools: false })
  const prefs = options.webPreferences!

  it('isolates the renderer from Node and from the preload', () => {
    expect(prefs.contextIsolation).toBe(true)
    expect(prefs.sandbox).toBe(true)
    expect(prefs.nodeIntegration).toBe(false)
    expect(prefs.nodeIntegrationInWorker).toBe(false)
    expect(prefs.nodeIntegrationInSubFrames).toBe(false)
  })

  it('keeps web security on and experiments off', () => {
    expect(prefs.webSecurity).toBe(true)
    expect(prefs.allowRunningInsecureContent).toBe(false)
    expect(prefs.experimentalFeatures).toBe(false)
    expect(prefs.enableBlinkFeatures).toBe('')
    expect(prefs.webviewTag).toBe(false)
    expect(prefs.navigateOnDragDrop).toBe(false)
  })

  it('uses the dedicated partition and the bundled CommonJS preload', () => {
    expect(prefs.partition).toBe(CONSOLE_PARTITION)
    expect(CONSOLE_PARTITION.startsWith('persist:')).toBe(true)
    expect(prefs.preload).toBe('/app/out/preload/preload.cjs')
  })

  it('exposes DevTools only when asked to', () => {
    expect(prefs.devTools).toBe(false)
    expect(consoleWindowOptions({ preloadPath: '/p.cjs', devTools: true }).webPreferences!.devTools).toBe(
      true,
    )
  })

  it('does not show the window before the first paint', () => {
    expect(options.show).toBe(false)
  })
})
