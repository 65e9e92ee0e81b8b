import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAesKsn } from '../../src-server/keys/crypto/dukpt-aes'
import { parseTdesKsn } from '../../src-server/keys/crypto/dukpt-tdes'
import { startTestServer, type TestServer } from '../helpers/server'

/**
 * Store-level uniqueness of DUKPT initial keys across 10,000 simulated devices per BDK (no link): every
 * device gets its own device number, KSN / Initial Key ID and key, and the database itself refuses a repeat.
 */
let srv: TestServer
beforeAll(async () => {
  srv = await startTestServer()
})
afterAll(() => srv.stop())

const DEVICES = 10_000

function bdk(algorithm: 'tdes2' | 'aes128' | 'aes192', name: string): number {
  const { keyStore } = srv.services
  const key = keyStore.generate({ name, kind: 'bdk', algorithm }, 'test')
  keyStore.activate(key.id, 'test')
  return key.id
}

function allocateAll(bdkKeyId: number) {
  const serials = Array.from({ length: DEVICES }, (_, i) => `DEV${String(i).padStart(6, '0')}`)
  const out = []
  for (let i = 0; i < DEVICES; i += 2500) {
    out.push(...srv.services.peds.allocator.allocate(bdkKeyId, serials.slice(i, i + 2500)))
  }
  return out
}

describe('DUKPT initial keys: one per device, never reused', () => {
  for (const algorithm of ['tdes2', 'aes128'] as const) {
    it(`${algorithm}: 10,000 devices get distinct KSNs and keys; a duplicate is refused by the store`, () => {
      const id = bdk(algorithm, `Uniqueness ${algorithm}`)
      const keys = allocateAll(id)
      expect(new Set(keys.map((k) => k.initialKeyId.toString('hex'))).size).toBe(DEVICES)
      expect(new Set(keys.map((k) => k.initialKey.toString('hex'))).size).toBe(DEVICES)
      expect(keys.map((k) => k.deviceNumber)).toEqual(Array.from({ length: DEVICES }, (_, i) => i + 1))
      for (const k of keys.slice(0, 50)) {
        // The counter part is zero: these are initial KSNs / Initial Key IDs.
        if (algorithm === 'tdes2') expect(parseTdesKsn(k.initialKeyId).counter).toBe(0)
        else expect(parseAesKsn(Buffer.concat([k.initialKeyId, Buffer.alloc(4)])).counter).toBe(0)
      }
      // Allocation continues from the highest number ever issued.
      const [next] = srv.services.peds.allocator.allocate(id, ['ONE-MORE'])
      expect(next.deviceNumber).toBe(DEVICES + 1)

      const { db } = srv.services
      const first = db
        .prepare('SELECT * FROM dukpt_initial_keys WHERE bdk_key_id = ? ORDER BY id LIMIT 1')
        .get(id) as Record<string, unknown>
      const insert = db.prepare(
        `INSERT INTO dukpt_initial_keys (bdk_key_id, device_number, initial_key_id, key_fingerprint, kcv, device_serial, allocated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      const now = new Date().toISOString()
      // Same KSN, same key, same device number: each one alone is refused.
      expect(() =>
        insert.run(id, 999_999, first.initial_key_id, Buffer.alloc(32, 1), 'X', 'DUP', now),
      ).toThrow(/UNIQUE/)
      expect(() => insert.run(id, 999_999, 'FFFF', first.key_fingerprint, 'X', 'DUP', now)).toThrow(/UNIQUE/)
      expect(() => insert.run(id, first.device_number, 'FFFF', Buffer.alloc(32, 2), 'X', 'DUP', now)).toThrow(
        /UNIQUE/,
      )
    }, 60_000)
  }

  it('a BDK ID belongs to one BDK, whatever the algorithm, and is never chosen twice at random', () => {
    const { keyStore } = srv.services
    keyStore.generate({ name: 'BDK ID owner', kind: 'bdk', algorithm: 'aes128', bdkId: '0A0B0C0D' }, 'test')
    // The same ID under another AES size would start the same Initial Key IDs.
    expect(() =>
      keyStore.generate(
        { name: 'BDK ID taker', kind: 'bdk', algorithm: 'aes256', bdkId: '0a0b0c0d' },
        'test',
      ),
    ).toThrow(/BDK ID 0A0B0C0D is already/)
    expect(keyStore.list().some((k) => k.name === 'BDK ID taker')).toBe(false)
  })

  it('an Initial Key ID already issued under another BDK is refused, and nothing is allocated', () => {
    const { db, peds } = srv.services
    const first = bdk('aes128', 'Shared ID 1')
    const second = bdk('aes192', 'Shared ID 2')
    // A database from before the check: two BDKs sharing one BDK ID (the unique index is per algorithm).
    db.prepare('UPDATE keys SET bdk_id = (SELECT bdk_id FROM keys WHERE id = ?) WHERE id = ?').run(
      first,
      second,
    )
    peds.allocator.allocate(first, ['DEV-1', 'DEV-2'])
    expect(() => peds.allocator.allocate(second, ['DEV-3'])).toThrow(
      /Initial Key ID [0-9A-F]{16} .*already issued/,
    )
    expect(
      db.prepare('SELECT count(*) FROM dukpt_initial_keys WHERE bdk_key_id = ?').pluck().get(second),
    ).toBe(0)
  })
})
