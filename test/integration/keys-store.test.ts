import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runIms } from '../helpers/process'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'
import { createOperator, expectProblem } from './keys-fixtures'

let srv: TestServer
let admin: string
let bench: string
beforeAll(async () => {
  srv = await startTestServer()
  admin = await srv.login(ADMIN.username, ADMIN.password)
  const b = await createOperator(srv, admin, 'benchie', 'bench')
  bench = await srv.login(b.username, b.password)
})
afterAll(() => srv.stop())

const post = (path: string, json?: unknown, token = admin) => srv.api(path, { method: 'POST', token, json })

describe('key store API', () => {
  it('generates keys shown by KCV only, wraps under a KEK as TR-31, and audits the lifecycle', async () => {
    const kek = (await (
      await post('/api/keys', { name: 'Zone KEK', kind: 'kek', algorithm: 'aes256' })
    ).json()) as {
      id: number
      kcv: string
      status: string
    }
    expect(kek).toMatchObject({ status: 'pending', kcv: expect.stringMatching(/^[0-9A-F]{10}$/) })
    // Nothing may be wrapped under a key that is not active.
    await expectProblem(
      await post('/api/keys', { name: 'TMK 1', kind: 'tmk', algorithm: 'aes128', wrapUnder: kek.id }),
      409,
    )
    expect((await post(`/api/keys/${kek.id}/activate`)).status).toBe(200)
    const tmk = (await (
      await post('/api/keys', { name: 'TMK 1', kind: 'tmk', algorithm: 'aes128', wrapUnder: kek.id })
    ).json()) as {
      id: number
      wrappedUnder: unknown
    }
    expect(tmk.wrappedUnder).toEqual({ type: 'key', keyId: kek.id, name: 'Zone KEK' })
    const stored = srv.services.db.prepare('SELECT sealed, key_block FROM keys WHERE id = ?').get(tmk.id) as {
      sealed: null
      key_block: string
    }
    expect(stored.sealed).toBeNull()
    expect(stored.key_block).toMatch(/^D\d{4}K0AB00E/)
    // A weaker KEK cannot wrap a stronger key.
    const weak = (await (
      await post('/api/keys', { name: 'Weak KEK', kind: 'kek', algorithm: 'tdes2' })
    ).json()) as { id: number }
    await post(`/api/keys/${weak.id}/activate`)
    const refused = await expectProblem(
      await post('/api/keys', {
        name: 'AES under TDES',
        kind: 'tmk',
        algorithm: 'aes256',
        wrapUnder: weak.id,
      }),
      400,
    )
    expect(refused.detail).toMatch(/weaker/)

    await expectProblem(await post(`/api/keys/${kek.id}/destroy`), 409)
    expect((await post(`/api/keys/${tmk.id}/destroy`)).status).toBe(200)
    expect(((await (await post(`/api/keys/${kek.id}/retire`)).json()) as { status: string }).status).toBe(
      'retired',
    )
    const destroyed = (await (await post(`/api/keys/${kek.id}/destroy`)).json()) as { status: string }
    expect(destroyed.status).toBe('destroyed')
    expect(srv.services.db.prepare('SELECT sealed FROM keys WHERE id = ?').pluck().get(kek.id)).toBeNull()
    await expectProblem(await post(`/api/keys/${kek.id}/activate`), 409)
    const actions = srv.services.db
      .prepare(`SELECT action FROM audit_log WHERE target = ? ORDER BY id`)
      .pluck()
      .all(`key:${kek.id}`)
    expect(actions).toEqual(['keys.generate', 'keys.activate', 'keys.retire', 'keys.destroy'])
    // Bench staff read keys but cannot manage them.
    expect((await srv.api('/api/keys', { token: bench })).status).toBe(200)
    await expectProblem(await post('/api/keys', { name: 'x', kind: 'kek', algorithm: 'aes128' }, bench), 403)
  })

  it('imports a TR-31 block under a stored KBPK (TR-31:2018 A.7.2.2) and checks the KCV', async () => {
    const { keyStore } = srv.services
    const kbpk = keyStore.storeSecret(
      { name: 'A.7.2.2 KBPK', kind: 'kbpk', algorithm: 'tdes2' },
      Buffer.from('DD7515F2BFC17F85CE48F3CA25CB21F6', 'hex'),
      'imported',
      'test',
    )
    keyStore.activate(kbpk.id, 'test')
    const block = 'B0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E'
    const res = await post('/api/keys/import', {
      name: 'Imported PIN key',
      kind: 'pin',
      kekId: kbpk.id,
      keyBlock: block,
    })
    expect(res.status).toBe(201)
    expect(await res.json()).toMatchObject({
      kcv: '57C409',
      keyUsage: 'P0',
      modeOfUse: 'E',
      algorithm: 'tdes2',
      origin: 'imported',
    })
    const tampered = `${block.slice(0, -1)}F`
    const bad = await expectProblem(
      await post('/api/keys/import', { name: 'Bad', kind: 'pin', kekId: kbpk.id, keyBlock: tampered }),
      400,
    )
    expect(bad.detail).not.toContain(block.slice(16))
  })

  it('binds each kind of key to its TR-31 usages: at generation, import, and when a key wraps another', async () => {
    const { keyStore, db } = srv.services
    // Generation: a KEK cannot be declared a PIN key, a BDK cannot be a KEK; a retail-MAC key is a MAC key.
    const asPin = await expectProblem(
      await post('/api/keys', { name: 'KEK as P0', kind: 'kek', algorithm: 'aes128', keyUsage: 'P0' }),
      400,
    )
    expect(asPin.detail).toMatch(/a kek key cannot have TR-31 usage P0 \(use K0\)/)
    await expectProblem(
      await post('/api/keys', { name: 'BDK as K0', kind: 'bdk', algorithm: 'aes128', keyUsage: 'K0' }),
      400,
    )
    expect(
      (await post('/api/keys', { name: 'Retail MAC', kind: 'mac', algorithm: 'tdes2', keyUsage: 'M3' }))
        .status,
    ).toBe(201)

    // Import: the block's usage (P0 here, TR-31:2018 A.7.2.2) must be one of the requested kind's.
    const kbpk = keyStore.storeSecret(
      { name: 'A.7.2.2 KBPK (usage)', kind: 'kbpk', algorithm: 'tdes2' },
      Buffer.from('DD7515F2BFC17F85CE48F3CA25CB21F6', 'hex'),
      'imported',
      'test',
    )
    keyStore.activate(kbpk.id, 'test')
    const block = 'B0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E'
    const asKek = await expectProblem(
      await post('/api/keys/import', {
        name: 'PIN key as KEK',
        kind: 'kek',
        kekId: kbpk.id,
        keyBlock: block,
      }),
      400,
    )
    expect(asKek.detail).toMatch(/usage P0/)
    expect(keyStore.list().some((k) => k.name === 'PIN key as KEK')).toBe(false)

    // Wrapping: a key-encryption key must also carry a key-encryption usage (a row from before the check).
    const kek = keyStore.generate({ name: 'KEK relabelled', kind: 'kek', algorithm: 'aes256' }, 'test')
    keyStore.activate(kek.id, 'test')
    db.prepare(`UPDATE keys SET key_usage = 'D0' WHERE id = ?`).run(kek.id)
    const wrap = await expectProblem(
      await post('/api/keys', { name: 'Under D0', kind: 'tmk', algorithm: 'aes128', wrapUnder: kek.id }),
      400,
    )
    expect(wrap.detail).toMatch(/not a key-encryption key/)
  })

  it('the crypto calculator runs the CLI code, stores nothing, and answers bad input with problem+json', async () => {
    const before = srv.services.db.prepare('SELECT count(*) FROM audit_log').pluck().get()
    const dukpt = await post(
      '/api/crypto/dukpt',
      {
        flags: {
          bdk: '0123456789ABCDEFFEDCBA9876543210',
          ksn: 'FFFF9876543210E00001',
          pin: '1234',
          pan: '4012345678909',
        },
      },
      bench,
    )
    expect(dukpt.status).toBe(200)
    expect(await dukpt.json()).toMatchObject({
      encryptedPinBlock: '1B9C1845EB993A7A',
      ipek: '6AC292FAA1315B4D858AB3A3D7D5933A',
    })
    expect(dukpt.headers.get('cache-control')).toBe('no-store')
    const bad = await expectProblem(
      await post('/api/crypto/kcv', { flags: { key: '0123456789ABCDEFFEDCBA98765432' } }, bench),
      400,
    )
    expect(bad.detail).toMatch(/--key must be/)
    expect(bad.detail).not.toContain('0123456789')
    await expectProblem(await post('/api/crypto/nope', { flags: {} }, bench), 400)
    expect(srv.services.db.prepare('SELECT count(*) FROM audit_log').pluck().get()).toBe(before)
  })
})

describe('ims crypto / ims ped (CLI)', () => {
  it('prints one JSON object, and a clear message with exit 2 on bad input without echoing keys', async () => {
    const ok = await runIms(['crypto', 'kcv', '--key', '0123456789ABCDEFFEDCBA9876543210'], {})
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ kcv: '08D7B4' })
    const cavv = await runIms(
      [
        'crypto',
        'cavv',
        '--cvk',
        '0123456789ABCDEFFEDCBA9876543210',
        '--pan',
        '4012345678909',
        '--atn',
        '0000000000001234',
      ],
      {},
    )
    expect(cavv.code).toBe(0)
    expect(JSON.parse(cavv.stdout)).toMatchObject({
      command: 'cavv',
      cavv: expect.stringMatching(/^[0-9A-F]{40}$/),
    })
    const stray = await runIms(['crypto', 'kcv', '0123456789ABCDEFFEDCBA9876543210'], {})
    expect(stray.code).toBe(2)
    expect(stray.stderr).toMatch(/unexpected argument at position 1/)
    expect(stray.stderr).not.toContain('0123456789ABCDEF')
    const short = await runIms(
      ['crypto', 'dukpt', '--bdk', 'ABCDEF0123', '--ksn', 'FFFF9876543210E00001'],
      {},
    )
    expect(short.code).toBe(2)
    expect(short.stderr).toMatch(/--bdk must be 32 hex digits/)
    expect(short.stderr).not.toContain('ABCDEF0123')
    const ped = await runIms(['ped', 'simulate', '--profile', 'xyz', '--device', '/dev/null'], {})
    expect(ped.code).toBe(2)
    expect(ped.stderr).toMatch(/stx or syn/)
  })
})
