import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toHex } from '../../src-server/keys/crypto/bytes'
import { keyCheckValue } from '../../src-server/keys/crypto/kcv'
import { splitSecret } from '../../src-server/keys/crypto/shamir'
import { vectors } from '../../src-server/keys/crypto/vectors.test-helper'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'
import { createOperator, custodianWithTotp, expectProblem, secondAdmin } from './keys-fixtures'

let srv: TestServer
let admin: string
const custodian: Record<string, string> = {}
let untrained: { username: string; password: string }

beforeAll(async () => {
  srv = await startTestServer()
  admin = await srv.login(ADMIN.username, ADMIN.password)
  for (const name of ['carol', 'dave', 'erin', 'frank']) {
    custodian[name] = (await custodianWithTotp(srv, admin, name)).token
  }
  untrained = await createOperator(srv, admin, 'no-totp', 'key-custodian')
})
afterAll(() => srv.stop())

const [eftlab, idtech] = vectors('key_components')
const components = (v: typeof eftlab) => v.inputs.components_hex as string[]

const BDK_987654 = { kind: 'bdk', algorithm: 'tdes2', bdkId: '987654' }

async function open(json: Record<string, unknown>) {
  return srv.api('/api/key-ceremonies', { method: 'POST', token: admin, json })
}

async function enter(id: number, token: string, json: Record<string, unknown>) {
  return srv.api(`/api/key-ceremonies/${id}/components`, { method: 'POST', token, json })
}

describe('key-component ceremonies (dual control, split knowledge)', () => {
  it('two custodians: each on their turn, each sees only their own KCV, the key KCV at the end', async () => {
    // ID TECH FAQ: three components rebuild the ANSI test BDK; the first two XORed stand in as a 2-component key.
    const [c1, c2] = components(idtech)
    const expectedKey = Buffer.from(c1, 'hex').map((b, i) => b ^ Buffer.from(c2, 'hex')[i])
    const res = await open({
      name: 'Two-part KEK',
      kind: 'kek',
      algorithm: 'tdes2',
      custodians: ['carol', 'dave'],
    })
    expect(res.status).toBe(201)
    const ceremony = (await res.json()) as { id: number; custodians: { yourTurn: boolean }[] }
    const id = ceremony.id

    // Dave is second: not his turn yet.
    expect((await expectProblem(await enter(id, custodian.dave, { value: c2 }), 409)).detail).toMatch(
      /not your turn/,
    )
    // The admin who opened it holds no custody permission at all.
    await expectProblem(await enter(id, admin, { value: c1 }), 403)
    // A wrong form KCV is refused before anything is stored.
    await expectProblem(await enter(id, custodian.carol, { value: c1, kcv: '000000' }), 400)

    const first = await enter(id, custodian.carol, {
      value: c1,
      kcv: toHex(keyCheckValue('tdes', Buffer.from(c1, 'hex'))),
    })
    expect(first.status).toBe(201)
    const receipt1 = (await first.json()) as Record<string, unknown>
    expect(receipt1).toMatchObject({
      position: 1,
      completed: false,
      kcv: toHex(keyCheckValue('tdes', Buffer.from(c1, 'hex'))),
    })
    expect(JSON.stringify(receipt1)).not.toContain(c1)
    // Carol cannot enter a second component.
    await expectProblem(await enter(id, custodian.carol, { value: c2 }), 409)

    // Dave sees that component 1 is in, but not its KCV; Carol sees hers.
    const asDave = (await (await srv.api(`/api/key-ceremonies/${id}`, { token: custodian.dave })).json()) as {
      custodians: { position: number; entered: boolean; kcv?: string; yourTurn: boolean }[]
    }
    expect(asDave.custodians[0]).toMatchObject({ entered: true, yourTurn: false })
    expect(asDave.custodians[0].kcv).toBeUndefined()
    expect(asDave.custodians[1].yourTurn).toBe(true)
    const asCarol = (await (
      await srv.api(`/api/key-ceremonies/${id}`, { token: custodian.carol })
    ).json()) as typeof asDave
    expect(asCarol.custodians[0].kcv).toBe(receipt1.kcv)

    // Until the last component arrives nothing is combined: the component sits sealed, never in clear.
    const sealed = srv.services.db
      .prepare('SELECT sealed FROM key_ceremony_components WHERE ceremony_id = ? AND position = 1')
      .pluck()
      .get(id) as Buffer
    expect(sealed.includes(Buffer.from(c1, 'hex'))).toBe(false)

    const second = await enter(id, custodian.dave, { value: c2 })
    expect(second.status).toBe(201)
    const receipt2 = (await second.json()) as { completed: boolean; key: { id: number; kcv: string } }
    expect(receipt2.completed).toBe(true)
    expect(receipt2.key.kcv).toBe(toHex(keyCheckValue('tdes', expectedKey)))

    // Components are wiped after combination; the key exists only sealed, shown by KCV.
    const left = srv.services.db
      .prepare('SELECT count(*) FROM key_ceremony_components WHERE ceremony_id = ? AND sealed IS NOT NULL')
      .pluck()
      .get(id)
    expect(left).toBe(0)
    const key = (await (
      await srv.api(`/api/keys/${receipt2.key.id}`, { token: custodian.carol })
    ).json()) as Record<string, unknown>
    expect(key).toMatchObject({
      name: 'Two-part KEK',
      kcv: receipt2.key.kcv,
      origin: 'ceremony',
      status: 'pending',
    })
    expect(JSON.stringify(key)).not.toMatch(new RegExp(toHex(expectedKey)))
  })

  it('three custodians: the EFTlab components rebuild the published key and KCV; the audit log holds KCVs only', async () => {
    const res = await open({
      name: 'EFTlab BDK',
      kind: 'bdk',
      algorithm: 'tdes2',
      bdkId: '987654',
      custodians: ['carol', 'dave', 'erin'],
    })
    const { id } = (await res.json()) as { id: number }
    const kcvs = eftlab.inputs.component_kcvs as string[]
    const values = components(eftlab)
    for (const [i, who] of ['carol', 'dave', 'erin'].entries()) {
      const r = await enter(id, custodian[who], { value: values[i], kcv: kcvs[i] })
      expect(r.status).toBe(201)
      expect(((await r.json()) as { kcv: string }).kcv).toBe(kcvs[i])
    }
    const done = (await (await srv.api(`/api/key-ceremonies/${id}`, { token: admin })).json()) as {
      status: string
      key: { kcv: string }
    }
    expect(done).toMatchObject({ status: 'completed', key: { kcv: eftlab.expected.kcv } })
    // Its BDK ID is now taken: a second BDK ceremony asking for it is refused when it opens, not after
    // every custodian has come.
    const taken = await expectProblem(
      await open({ ...BDK_987654, name: 'Second BDK', custodians: ['carol', 'dave'] }),
      409,
    )
    expect(taken.detail).toMatch(/BDK ID 987654 is already the BDK ID of EFTlab BDK/)

    const rows = srv.services.db
      .prepare(`SELECT action, details FROM audit_log WHERE target = ?`)
      .all(`ceremony:${id}`) as {
      action: string
      details: string
    }[]
    expect(rows.map((r) => r.action)).toEqual([
      'keys.ceremony.open',
      'keys.ceremony.component',
      'keys.ceremony.component',
      'keys.ceremony.component',
      'keys.ceremony.complete',
    ])
    const all = srv.services.db.prepare('SELECT details FROM audit_log').pluck().all().join('\n')
    for (const v of [...values, eftlab.expected.key_hex as string]) expect(all.toUpperCase()).not.toContain(v)
    expect(all).toContain(kcvs[2])
    expect(srv.logText().toUpperCase()).not.toContain(values[0])
    expect(srv.services.audit.verify()).toMatchObject({ ok: true })
  })

  it('Shamir 2-of-3: any two shares rebuild the key; one custodian alone cannot', async () => {
    const secret = Buffer.from('00112233445566778899AABBCCDDEEFF', 'hex')
    const shares = splitSecret(secret, 3, 2)
    const res = await open({
      name: 'Shamir AES KEK',
      kind: 'kek',
      algorithm: 'aes128',
      scheme: 'shamir',
      threshold: 2,
      custodians: ['carol', 'dave', 'erin'],
    })
    expect(res.status).toBe(201)
    const { id } = (await res.json()) as { id: number }
    // Shares come in any order; a share needs its index.
    await expectProblem(await enter(id, custodian.erin, { value: toHex(shares[2].value) }), 400)
    const first = await enter(id, custodian.erin, { value: toHex(shares[2].value), shareIndex: 3 })
    expect(((await first.json()) as { completed: boolean }).completed).toBe(false)
    const second = await enter(id, custodian.carol, { value: toHex(shares[0].value), shareIndex: 1 })
    const receipt = (await second.json()) as { completed: boolean; key: { kcv: string } }
    expect(receipt).toMatchObject({ completed: true, key: { kcv: toHex(keyCheckValue('aes', secret)) } })
    await expectProblem(
      await enter(id, custodian.dave, { value: toHex(shares[1].value), shareIndex: 2 }),
      409,
    )
  })

  it('refuses an opener who is a custodian, a repeated custodian, and custodians without a second factor', async () => {
    const base = { name: 'Refused', kind: 'kek', algorithm: 'tdes2' }
    expect(
      (await expectProblem(await open({ ...base, custodians: ['carol', 'carol'] }), 400)).detail,
    ).toMatch(/only one component/)
    expect(
      (await expectProblem(await open({ ...base, custodians: ['admin', 'carol'] }), 400)).detail,
    ).toMatch(/cannot be one of its custodians/)
    const noTotp = await expectProblem(await open({ ...base, custodians: ['carol', 'no-totp'] }), 403)
    expect(noTotp.detail).toMatch(/no-totp has no authenticator \(TOTP\) enrolled/)
    await expectProblem(await open({ ...base, custodians: ['carol', 'dave', 'erin', 'frank'] }), 400)

    // A custodian who loses their second factor after the ceremony opened is refused at entry.
    const { id } = (await (
      await open({ ...base, name: 'Lost phone', custodians: ['frank', 'carol'] })
    ).json()) as { id: number }
    const frank = srv.services.operators.list().find((o) => o.username === 'frank')!
    const removed = await srv.api(`/api/operators/${frank.id}/totp`, {
      method: 'DELETE',
      token: admin,
      json: { approver: await secondAdmin(srv, admin) },
    })
    expect(removed.status).toBe(204)
    const refused = await expectProblem(await enter(id, custodian.frank, { value: '00'.repeat(16) }), 403)
    expect(refused.detail).toMatch(/must enrol a second factor/)
    // Signing in without TOTP does not help either.
    const plain = await srv.login(untrained.username, untrained.password)
    await expectProblem(await enter(id, plain, { value: '00'.repeat(16) }), 403)
    // Cancelling wipes and closes.
    const cancelled = await srv.api(`/api/key-ceremonies/${id}/cancel`, { method: 'POST', token: admin })
    expect(((await cancelled.json()) as { status: string }).status).toBe('cancelled')
  })
})
