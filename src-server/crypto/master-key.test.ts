import { mkdirSync, mkdtempSync, statSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { MasterKeyError, obtainMasterKey, sealedMasterKeyPath } from './master-key'

const fresh = () => mkdtempSync(join(tmpdir(), 'ims-mk-'))

describe('master key', () => {
  it('is created once as a 0600 file and read back the same', () => {
    const dir = fresh()
    const first = obtainMasterKey(dir, {}, { create: true })
    expect(first.created).toBe(true)
    expect(statSync(join(dir, 'keys', 'master.key')).mode & 0o777).toBe(0o600)
    expect(obtainMasterKey(dir, {}, { create: true })).toEqual({ key: first.key, created: false })
  })

  it('refuses a key file others can read', () => {
    const dir = fresh()
    obtainMasterKey(dir, {}, { create: true })
    chmodSync(join(dir, 'keys', 'master.key'), 0o644)
    expect(() => obtainMasterKey(dir, {}, { create: false })).toThrow(/readable by others.*chmod 600/)
  })

  it('explains a folder whose key is in the desktop keychain, and never makes a second key for it', () => {
    const dir = fresh()
    mkdirSync(join(dir, 'keys'))
    writeFileSync(sealedMasterKeyPath(dir), 'sealed')
    expect(() => obtainMasterKey(dir, {}, { create: true })).toThrow(MasterKeyError)
    expect(() => obtainMasterKey(dir, {}, { create: false })).toThrow(/desktop app's OS keychain/)
  })

  it('takes IMS_MASTER_KEY when set and checks its length', () => {
    const key = Buffer.alloc(32, 7)
    expect(
      obtainMasterKey(fresh(), { IMS_MASTER_KEY: key.toString('base64') }, { create: true }).key,
    ).toEqual(key)
    expect(() => obtainMasterKey(fresh(), { IMS_MASTER_KEY: 'c2hvcnQ=' }, { create: true })).toThrow(
      /32 bytes/,
    )
  })
})
