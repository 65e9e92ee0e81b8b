import { describe, expect, it } from 'vitest'
import { chooseMasterKeySource, keychainStatusOf } from './master-key-source.std'

describe('chooseMasterKeySource', () => {
  it('refuses the basic_text backend on Linux', () => {
    const source = chooseMasterKeySource({
      platform: 'linux',
      asyncEncryptionAvailable: true,
      linuxBackend: 'basic_text',
    })
    expect(source.mode).toBe('key-file')
  })

  it('refuses an unknown Linux backend', () => {
    expect(
      chooseMasterKeySource({ platform: 'linux', asyncEncryptionAvailable: true, linuxBackend: 'unknown' })
        .mode,
    ).toBe('key-file')
  })

  it('uses a real Linux secret service', () => {
    expect(
      chooseMasterKeySource({
        platform: 'linux',
        asyncEncryptionAvailable: true,
        linuxBackend: 'gnome_libsecret',
      }),
    ).toEqual({ mode: 'keychain', backend: 'gnome_libsecret' })
  })

  it('uses the keychain on macOS and Windows when available', () => {
    expect(chooseMasterKeySource({ platform: 'darwin', asyncEncryptionAvailable: true }).mode).toBe(
      'keychain',
    )
    expect(chooseMasterKeySource({ platform: 'win32', asyncEncryptionAvailable: true }).mode).toBe('keychain')
  })

  it('falls back to the key file when encryption is unavailable', () => {
    expect(chooseMasterKeySource({ platform: 'darwin', asyncEncryptionAvailable: false }).mode).toBe(
      'key-file',
    )
  })
})

describe('keychainStatusOf', () => {
  it('reports the source to the console without any key material', () => {
    expect(keychainStatusOf({ mode: 'keychain', backend: 'kwallet6' })).toEqual({
      mode: 'keychain',
      backend: 'kwallet6',
    })
    expect(keychainStatusOf({ mode: 'key-file', reason: 'r' })).toEqual({ mode: 'key-file', reason: 'r' })
  })
})

describe('an existing key file', () => {
  it('wins over the keychain, because the data in that folder is encrypted under it', () => {
    expect(
      chooseMasterKeySource({ platform: 'darwin', asyncEncryptionAvailable: true, keyFileExists: true }),
    ).toMatchObject({ mode: 'key-file', reason: expect.stringMatching(/already has its key file/) })
  })
})
