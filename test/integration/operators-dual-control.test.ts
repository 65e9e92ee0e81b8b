import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, startTestServer, type TestServer } from '../helpers/server'
import { custodianWithTotp, expectProblem, secondAdmin } from './keys-fixtures'

/**
 * Dual control over key custodians' accounts: one admin alone must not be able to make, unmake, re-enable or
 * reset custodians, or they could run a two-custodian key ceremony by themselves.
 */
let srv: TestServer
let admin: string
const PASSWORD = 'Lantern-river-quarry-5521'
/** The approving admin (the one keys-fixtures makes custodians with). */
let SECOND: { username: string; password: string }

beforeAll(async () => {
  srv = await startTestServer()
  admin = await srv.login(ADMIN.username, ADMIN.password)
  SECOND = await secondAdmin(srv, admin)
  for (const [username, role, status] of [
    ['admin3', 'admin', 'active'],
    ['gone', 'admin', 'disabled'],
    ['super1', 'supervisor', 'active'],
  ] as const) {
    const op = await call('POST', '/api/operators', {
      username,
      displayName: username,
      role,
      password: PASSWORD,
      // Two admins are active: a third is made under dual control (see the admins' test below).
      ...(role === 'admin' && { approver: SECOND }),
    })
    expect(op.status).toBe(201)
    if (status === 'disabled') await call('PATCH', `/api/operators/${await idOf(username)}`, { status })
  }
})
afterAll(() => srv.stop())

function call(method: string, path: string, json: unknown) {
  return srv.api(path, { method, token: admin, json })
}

async function idOf(username: string): Promise<number> {
  const list = (await (await srv.api('/api/operators', { token: admin })).json()) as {
    id: number
    username: string
  }[]
  return list.find((o) => o.username === username)!.id
}

/** The newest audit row of an action on an account. */
function lastAudit(action: string, username: string): { actor: string; details: Record<string, unknown> } {
  const row = srv.services.db
    .prepare(`SELECT actor, details FROM audit_log WHERE action = ? AND target = ? ORDER BY id DESC LIMIT 1`)
    .get(action, `operator:${username}`) as { actor: string; details: string }
  return { actor: row.actor, details: JSON.parse(row.details) as Record<string, unknown> }
}

async function refusedWith(res: Response, title: string, detail: string | RegExp): Promise<void> {
  const problem = await expectProblem(res, 403)
  expect(problem.title).toBe(title)
  expect(problem.detail).toMatch(detail)
}

const custodian = (username: string) => ({
  username,
  displayName: username,
  role: 'key-custodian',
  password: PASSWORD,
})

describe('dual control over key custodians’ accounts', () => {
  it('creates a custodian only with another active admin approving, named in the audit row', async () => {
    await refusedWith(
      await call('POST', '/api/operators', custodian('carol')),
      'Dual control',
      /send approver/,
    )
    for (const [approver, detail] of [
      [{ username: ADMIN.username, password: ADMIN.password }, 'must be another operator'],
      [{ username: SECOND.username, password: 'not-the-password-9' }, 'could not be verified'],
      [{ username: 'gone', password: PASSWORD }, 'could not be verified'],
      [{ username: 'super1', password: PASSWORD }, 'cannot approve this (operators.manage)'],
    ] as const) {
      await refusedWith(
        await call('POST', '/api/operators', { ...custodian('carol'), approver }),
        'Approval refused',
        detail,
      )
    }
    expect(srv.services.operators.list().some((o) => o.username === 'carol')).toBe(false)

    const created = await call('POST', '/api/operators', { ...custodian('carol'), approver: SECOND })
    expect(created.status).toBe(201)
    expect(lastAudit('operator.create', 'carol')).toEqual({
      actor: 'operator:admin',
      details: { role: 'key-custodian', approvedBy: 'operator:admin2' },
    })
  })

  it('changes a role to or from key custodian only with approval, never the target’s own', async () => {
    const admin3 = await idOf('admin3')
    await refusedWith(
      await call('PATCH', `/api/operators/${admin3}`, { role: 'key-custodian' }),
      'Dual control',
      /Making a key custodian/,
    )
    // An admin cannot approve their own move to custodian.
    await refusedWith(
      await call('PATCH', `/api/operators/${admin3}`, {
        role: 'key-custodian',
        approver: { username: 'admin3', password: PASSWORD },
      }),
      'Approval refused',
      'must not be the account being changed',
    )
    const made = await call('PATCH', `/api/operators/${admin3}`, { role: 'key-custodian', approver: SECOND })
    expect(made.status).toBe(200)
    expect(lastAudit('operator.update', 'admin3').details).toEqual({
      role: 'key-custodian',
      approvedBy: 'operator:admin2',
    })

    await refusedWith(
      await call('PATCH', `/api/operators/${admin3}`, { role: 'admin' }),
      'Dual control',
      /Ending a key custodian/,
    )
    const unmade = await call('PATCH', `/api/operators/${admin3}`, { role: 'admin', approver: SECOND })
    expect(unmade.status).toBe(200)
    // The approver alone is no change.
    expect((await call('PATCH', `/api/operators/${admin3}`, { approver: SECOND })).status).toBe(400)
  })

  it('disables a custodian alone, re-enables one only with approval', async () => {
    await call('POST', '/api/operators', { ...custodian('dave'), approver: SECOND })
    const dave = await idOf('dave')
    expect((await call('PATCH', `/api/operators/${dave}`, { status: 'disabled' })).status).toBe(200)
    await refusedWith(
      await call('PATCH', `/api/operators/${dave}`, { status: 'active' }),
      'Dual control',
      /Re-enabling a key custodian/,
    )
    const enabled = await call('PATCH', `/api/operators/${dave}`, { status: 'active', approver: SECOND })
    expect(enabled.status).toBe(200)
    expect(lastAudit('operator.update', 'dave').details).toEqual({
      status: 'active',
      approvedBy: 'operator:admin2',
    })
  })

  it('resets a custodian’s password and second factor only with approval', async () => {
    const { token: ericSession } = await custodianWithTotp(srv, admin, 'eric')
    const eric = await idOf('eric')
    const newPassword = 'Fresh-lantern-river-7710'

    await refusedWith(
      await call('POST', `/api/operators/${eric}/password`, { newPassword }),
      'Dual control',
      /Resetting a key custodian’s password/,
    )
    // The custodian cannot approve their own reset (nor holds operators.manage).
    const self = await call('POST', `/api/operators/${eric}/password`, {
      newPassword,
      approver: { username: 'eric', password: 'Vault-lantern-4-river-8812' },
    })
    expect((await expectProblem(self, 403)).title).toBe('Approval refused')
    // Nothing changed: the custodian's session survives.
    expect((await srv.api('/api/session', { token: ericSession })).status).toBe(200)

    const reset = await call('POST', `/api/operators/${eric}/password`, { newPassword, approver: SECOND })
    expect(reset.status).toBe(204)
    expect(lastAudit('operator.password.reset', 'eric')).toEqual({
      actor: 'operator:admin',
      details: { approvedBy: 'operator:admin2' },
    })

    await refusedWith(
      await call('DELETE', `/api/operators/${eric}/totp`, {}),
      'Dual control',
      /Removing a key custodian’s second factor/,
    )
    expect(srv.services.operators.get(eric).totpEnabled).toBe(true)
    const removed = await call('DELETE', `/api/operators/${eric}/totp`, { approver: SECOND })
    expect(removed.status).toBe(204)
    expect(srv.services.operators.get(eric).totpEnabled).toBe(false)
    expect(lastAudit('operator.totp.disable', 'eric').details).toEqual({ approvedBy: 'operator:admin2' })
  })

  it('puts admin accounts under the same control, while another admin can approve', async () => {
    const admin4 = { username: 'admin4', displayName: 'admin4', role: 'admin', password: PASSWORD }
    await refusedWith(await call('POST', '/api/operators', admin4), 'Dual control', /Making an admin/)
    expect((await call('POST', '/api/operators', { ...admin4, approver: SECOND })).status).toBe(201)
    expect(lastAudit('operator.create', 'admin4').details).toEqual({
      role: 'admin',
      approvedBy: 'operator:admin2',
    })
    const id = await idOf('admin4')
    const newPassword = 'Other-lantern-8842'
    await refusedWith(
      await call('POST', `/api/operators/${id}/password`, { newPassword }),
      'Dual control',
      /Resetting an admin’s password/,
    )
    expect(
      (await call('POST', `/api/operators/${id}/password`, { newPassword, approver: SECOND })).status,
    ).toBe(204)
    await refusedWith(
      await call('DELETE', `/api/operators/${id}/totp`, {}),
      'Dual control',
      /Removing an admin’s second factor/,
    )
    await refusedWith(
      await call('PATCH', `/api/operators/${await idOf('gone')}`, { status: 'active' }),
      'Dual control',
      /Re-enabling an admin/,
    )
    // Taking access away stays one admin's action.
    expect((await call('PATCH', `/api/operators/${id}`, { role: 'supervisor' })).status).toBe(200)
  })

  it('lets a lone admin make the second admin alone, and nothing more', async () => {
    const fresh = await startTestServer()
    try {
      const token = await fresh.login(ADMIN.username, ADMIN.password)
      const create = (username: string) =>
        fresh.api('/api/operators', {
          method: 'POST',
          token,
          json: { username, displayName: username, role: 'admin', password: PASSWORD },
        })
      expect((await create('second')).status).toBe(201) // nobody else could approve it
      const list = (await (await fresh.api('/api/operators', { token })).json()) as {
        id: number
        username: string
      }[]
      const second = list.find((o) => o.username === 'second')!.id
      // Taking the co-admin's account over (then approving as them) is dual-controlled: recovery is `ims operator recover`.
      await refusedWith(
        await fresh.api(`/api/operators/${second}/password`, {
          method: 'POST',
          token,
          json: { newPassword: 'Forgotten-lantern-5521' },
        }),
        'Dual control',
        /Resetting an admin’s password/,
      )
      await refusedWith(await create('third'), 'Dual control', /Making an admin/)
      // A disabled co-admin still counts: disabling the others does not make the requester alone again.
      expect(
        (
          await fresh.api(`/api/operators/${second}`, {
            method: 'PATCH',
            token,
            json: { status: 'disabled' },
          })
        ).status,
      ).toBe(200)
      await refusedWith(await create('third'), 'Dual control', /Making an admin/)
    } finally {
      await fresh.stop()
    }
  })

  it('leaves other accounts to one admin', async () => {
    const agent = { username: 'agent1', displayName: 'Agent', role: 'agent', password: PASSWORD }
    expect((await call('POST', '/api/operators', agent)).status).toBe(201)
    const id = await idOf('agent1')
    expect((await call('PATCH', `/api/operators/${id}`, { role: 'supervisor' })).status).toBe(200)
    expect((await call('PATCH', `/api/operators/${id}`, { status: 'disabled' })).status).toBe(200)
    expect((await call('PATCH', `/api/operators/${id}`, { status: 'active' })).status).toBe(200)
    const reset = await call('POST', `/api/operators/${id}/password`, { newPassword: 'Other-lantern-3391' })
    expect(reset.status).toBe(204)
    expect((await call('DELETE', `/api/operators/${id}/totp`, {})).status).toBe(204)
    // No body at all, as before dual control, or an empty one (Content-Length: 0, as curl -X DELETE -d '' sends).
    expect((await srv.api(`/api/operators/${id}/totp`, { method: 'DELETE', token: admin })).status).toBe(204)
    const empty = await fetch(`${srv.url}/api/operators/${id}/totp`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin}`, 'content-length': '0' },
      body: '',
    })
    expect(empty.status).toBe(204)
    expect(lastAudit('operator.password.reset', 'agent1').details).toEqual({})
  })
})
