import { afterEach, describe, expect, it, vi } from 'vitest'
import { SerialProgrammer } from '../../dongle/serial/driver'
import { openTransport } from '../../serial/transport'
import { openPtyPair, type PtyPair } from '../../../test/helpers/pty'
import { main } from './cli'

describe('ims dongle simulate', () => {
  let pty: PtyPair | undefined
  afterEach(async () => {
    vi.restoreAllMocks()
    await pty?.close()
  })

  it('refuses a missing --device with usage and exit code 2', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    expect(await main([])).toBe(2)
    expect(await main(['--device'])).toBe(2)
    expect(error.mock.calls.flat().join('\n')).toMatch(/usage: ims dongle simulate --device TTY/)
  })

  it('serves blank tokens on a pty, feeding the next one after each eject', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined)
    pty = await openPtyPair()
    const stop = new AbortController()
    const running = main(['--device', pty.b, '--tokens', '2', '--serial-prefix', 'T'], stop.signal)
    const programmer = new SerialProgrammer(await openTransport(pty.a))
    const attached: string[] = []
    programmer.watch((e) => e.type === 'attached' && attached.push(e.device.serial))
    let devices = await programmer.devices()
    for (let i = 0; devices.length === 0 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 20))
      devices = await programmer.devices()
    }
    expect(devices[0].serial).toBe('T000001')
    await programmer.eject(devices[0].id)
    for (let i = 0; !attached.includes('T000002') && i < 100; i++) await new Promise((r) => setTimeout(r, 20))
    expect(attached).toContain('T000002')
    await programmer.close()
    stop.abort()
    expect(await running).toBe(0)
  })
})
