import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config'

describe('configuration', () => {
  it('takes environment over the config file, with loopback defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ims-cfg-'))
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ port: 9000, session: { idleMinutes: 5 } }))
    expect(loadConfig({ IMS_DATA_DIR: dir })).toMatchObject({
      host: '127.0.0.1',
      port: 9000,
      sessionIdleMs: 300_000,
    })
    expect(loadConfig({ IMS_DATA_DIR: dir, IMS_PORT: '0' }).port).toBe(0)
  })

  it('explains an invalid file and an invalid port in words', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ims-cfg-'))
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ port: 'eighty', colour: 'red' }))
    expect(() => loadConfig({ IMS_DATA_DIR: dir })).toThrow(
      /config.json has invalid settings:\n {2}- port: .*\n.*colour/s,
    )
    writeFileSync(join(dir, 'config.json'), '{ nope')
    expect(() => loadConfig({ IMS_DATA_DIR: dir })).toThrow(ConfigError)
    expect(() => loadConfig({ IMS_DATA_DIR: mkdtempSync(join(tmpdir(), 'x')), IMS_PORT: '70000' })).toThrow(
      /IMS_PORT/,
    )
  })

  it('has no directory-server TLS listener unless a port is given, by file or environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ims-cfg-'))
    expect(loadConfig({ IMS_DATA_DIR: dir }).acsTls).toBeUndefined()
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ host: '10.0.0.5', acsTls: { port: 8443 } }))
    expect(loadConfig({ IMS_DATA_DIR: dir }).acsTls).toEqual({ host: '10.0.0.5', port: 8443 })
    expect(
      loadConfig({ IMS_DATA_DIR: dir, IMS_ACS_TLS_PORT: '9443', IMS_ACS_TLS_HOST: '0.0.0.0' }).acsTls,
    ).toEqual({ host: '0.0.0.0', port: 9443 })
    expect(() => loadConfig({ IMS_DATA_DIR: dir, IMS_ACS_TLS_PORT: 'https' })).toThrow(/IMS_ACS_TLS_PORT/)
  })
})
