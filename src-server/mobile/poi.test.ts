import { createHmac, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Keyring } from '../crypto/keyring'
import { Vault } from '../crypto/vault'
import { migrate, openDatabase, type Db } from '../store/db'
import { POI_KEY_ROTATION_MS, PoiTokens } from './poi'

/**
 * Screen tokens over a real SQLite file: the MAC key is a sealed row, so a new process over the same file
 * (a restart) verifies the codes the old one put on screen. The MAC is recomputed here from the opened key
 * with the formula of docs/mobile-authenticator.md, independently of PoiTokens.
 */
const poiId = 'q8Y2mIYz0xq2TGhPz8kKjw'
const LIFETIME_MS = 60_000
const T0 = 1_767_225_600_000
const dirs: string[] = []
const dbs: Db[] = []

afterEach(() => {
  for (const db of dbs.splice(0)) db.close()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function store() {
  const dir = mkdtempSync(join(tmpdir(), 'ims-poi-'))
  dirs.push(dir)
  const masterKey = randomBytes(32)
  /** One "process": its own connection, keyring and token minter over the same database file. */
  const open = () => {
    const db = openDatabase(join(dir, 'ims.db'))
    dbs.push(db)
    migrate(db)
    const vault = new Vault(new Keyring(db, masterKey), db)
    return { db, vault, tokens: new PoiTokens(db, vault, () => LIFETIME_MS) }
  }
  return { open }
}

const parts = (token: string) => token.split('.') as [string, string, string]

describe('screen tokens', () => {
  it('live two periods, name only the screen, and cannot be forged', () => {
    const { tokens } = store().open()
    const { token, expiresAt } = tokens.mint(poiId, 30, T0)
    expect(expiresAt).toBe(T0 + 60_000)
    expect(tokens.verify(token, T0 + 59_999)).toEqual({ poiId })
    expect(tokens.verify(token, T0 + 60_000)).toEqual({ error: 'expired' })
    const [id, exp, mac] = parts(token)
    expect(tokens.verify(`${id}.${Number(exp) + 600}.${mac}`, T0)).toEqual({ error: 'forged' })
    expect(tokens.verify('not a token', T0)).toEqual({ error: 'malformed' })
    // Another installation (another master key, another database) does not accept it.
    expect(store().open().tokens.verify(token, T0)).toEqual({ error: 'forged' })
  })

  it('keep verifying after a restart: the key is sealed in the database, not held in memory', () => {
    const s = store()
    const before = s.open()
    const { token } = before.tokens.mint(poiId, 30, T0)
    const row = before.db.prepare('SELECT id, key_sealed FROM mobile_poi_keys').get() as {
      id: number
      key_sealed: Buffer
    }
    // The sealed key opens only under its row's AAD, and it is the key the token's MAC was made with.
    const key = before.vault.open(row.key_sealed, `mobile-poi-key:${row.id}`)
    expect(() => before.vault.open(row.key_sealed, `mobile-poi-key:${row.id + 1}`)).toThrow()
    const [id, exp, mac] = parts(token)
    const expected = createHmac('sha256', key).update(`ims-poi/1|${id}|${exp}`).digest().subarray(0, 16)
    expect(mac).toBe(expected.toString('base64url'))
    expect(row.key_sealed.includes(key)).toBe(false)

    const after = s.open()
    expect(after.tokens.verify(token, T0 + 1000)).toEqual({ poiId })
  })

  it('a replaced key verifies its codes for one QR lifetime, and is gone after the next rotation', () => {
    const s = store()
    const { tokens, db } = s.open()
    const old = tokens.mint(poiId, 30, T0).token
    tokens.rotate(T0 + 1000)
    const fresh = tokens.mint(poiId, 30, T0 + 1000).token
    expect(parts(fresh)[2]).not.toBe(parts(old)[2])
    expect(tokens.verify(old, T0 + 2000)).toEqual({ poiId })
    // Also in a new process: the grace is stored with the key.
    expect(s.open().tokens.verify(old, T0 + 2000)).toEqual({ poiId })
    // Past the grace the old key signs nothing any more (even a code that claims a later expiry).
    const late = T0 + 1000 + LIFETIME_MS
    const [id, exp, mac] = parts(old)
    expect(tokens.verify(`${id}.${exp}.${mac}`, late)).toEqual({ error: 'forged' })
    tokens.rotate(T0 + 3000)
    expect(tokens.verify(old, T0 + 3500)).toEqual({ error: 'forged' })
    expect(tokens.verify(fresh, T0 + 3500)).toEqual({ poiId })
    expect(db.prepare('SELECT COUNT(*) FROM mobile_poi_keys').pluck().get()).toBe(2)
  })

  it('rotates by itself once the key is a day old', () => {
    const { tokens, db } = store().open()
    tokens.mint(poiId, 30, T0)
    const first = db.prepare('SELECT MAX(id) FROM mobile_poi_keys').pluck().get()
    tokens.mint(poiId, 30, T0 + POI_KEY_ROTATION_MS - 1)
    expect(db.prepare('SELECT MAX(id) FROM mobile_poi_keys').pluck().get()).toBe(first)
    const { token } = tokens.mint(poiId, 30, T0 + POI_KEY_ROTATION_MS)
    expect(db.prepare('SELECT MAX(id) FROM mobile_poi_keys').pluck().get()).toBe(Number(first) + 1)
    expect(tokens.verify(token, T0 + POI_KEY_ROTATION_MS)).toEqual({ poiId })
  })
})
