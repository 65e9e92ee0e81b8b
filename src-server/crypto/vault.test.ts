import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { migrate, openDatabase } from '../store/db'
import { Keyring } from './keyring'
import { InvalidPanError, Vault } from './vault'
import { luhnValid, maskPan, maskPansInText } from './mask'

function setup() {
  const db = openDatabase(':memory:')
  migrate(db)
  db.exec('CREATE TABLE vaulted (id INTEGER PRIMARY KEY, pan_ct BLOB, pan_lookup BLOB)')
  const keyring = new Keyring(db, randomBytes(32))
  const vault = new Vault(keyring, db)
  vault.registerSealedColumn({ table: 'vaulted', column: 'pan_ct', purpose: 'pan-enc' })
  return { db, keyring, vault }
}

describe('PAN vault', () => {
  it('seals a PAN so only the vault can read it, and finds it by lookup hash', () => {
    const { vault } = setup()
    const sealed = vault.sealPan('4111 1111 1111 1111')
    expect(sealed.masked).toBe('411111******1111')
    expect(sealed.last4).toBe('1111')
    expect(sealed.ciphertext.includes(Buffer.from('4111111111111111'))).toBe(false)
    expect(vault.openPan(sealed.ciphertext)).toBe('4111111111111111')
    expect(vault.panLookup('4111-1111-1111-1111')).toEqual(sealed.lookup)
    expect(vault.panLookup('4111111111111112')).not.toEqual(sealed.lookup)
  })

  it('detects tampering and refuses non-PANs', () => {
    const { vault } = setup()
    const sealed = vault.sealPan('5555555555554444').ciphertext
    sealed[sealed.length - 1] ^= 1
    expect(() => vault.openPan(sealed)).toThrow(/authentication failed/)
    expect(() => vault.sealPan('12ab')).toThrow(InvalidPanError)
  })

  it('binds sealed values to their context with AAD', () => {
    const { vault } = setup()
    const sealed = vault.seal('secret-enc', 'seed', 'token:1')
    expect(vault.open(sealed, 'token:1').toString()).toBe('seed')
    expect(() => vault.open(sealed, 'token:2')).toThrow()
  })

  it('rotates the PAN key and re-encrypts every stored PAN, old and new still readable', async () => {
    const { db, vault } = setup()
    const insert = db.prepare('INSERT INTO vaulted (pan_ct, pan_lookup) VALUES (?, ?)')
    const pans = Array.from({ length: 1200 }, (_, i) => `4000${String(i).padStart(12, '0')}`)
    for (const pan of pans) {
      const s = vault.sealPan(pan)
      insert.run(s.ciphertext, s.lookup)
    }
    const oldKeyId = (db.prepare('SELECT pan_ct FROM vaulted LIMIT 1').pluck().get() as Buffer).readUInt32BE(
      0,
    )
    const result = await vault.rotate('pan-enc', 500)
    expect(result.reencrypted).toBe(1200)
    expect(result.keyId).not.toBe(oldKeyId)
    const rows = db.prepare('SELECT pan_ct FROM vaulted ORDER BY id').pluck().all() as Buffer[]
    expect(rows.every((r) => r.readUInt32BE(0) === result.keyId)).toBe(true)
    expect(rows.map((r) => vault.openPan(r))).toEqual(pans)
  })

  it('a rotation by another connection (the CLI beside a running server) is seen by the next seal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ims-keyring-'))
    try {
      const master = randomBytes(32)
      const server = openDatabase(join(dir, 'ims.db'))
      migrate(server)
      const cli = openDatabase(join(dir, 'ims.db'))
      const serverVault = new Vault(new Keyring(server, master), server)
      const before = serverVault.sealPan('4111111111111111').ciphertext.readUInt32BE(0)
      const { keyId } = await new Vault(new Keyring(cli, master), cli).rotate('pan-enc')
      expect(keyId).not.toBe(before)
      expect(serverVault.sealPan('4111111111111111').ciphertext.readUInt32BE(0)).toBe(keyId)
      server.close()
      cli.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('will not rotate the lookup key (it would orphan every lookup hash)', () => {
    const { keyring } = setup()
    expect(() => keyring.rotate('pan-lookup')).toThrow(/not rotatable/)
  })

  it('re-wraps data keys under a new master key', () => {
    const { db, keyring, vault } = setup()
    const sealed = vault.sealPan('4111111111111111')
    const newMaster = randomBytes(32)
    keyring.rewrapUnder(newMaster)
    const vault2 = new Vault(new Keyring(db, newMaster), db)
    expect(vault2.openPan(sealed.ciphertext)).toBe('4111111111111111')
  })
})

describe('masking', () => {
  it('masks to first six and last four', () => {
    expect(maskPan('378282246310005')).toBe('378282*****0005')
    expect(luhnValid('4111111111111111')).toBe(true)
    expect(luhnValid('4111111111111112')).toBe(false)
  })

  it('masks Luhn-valid PANs in free text and leaves other numbers alone', () => {
    expect(maskPansInText('card 4111111111111111 declined, ref 1234567890123')).toBe(
      'card 411111******1111 declined, ref 1234567890123',
    )
  })
})
