import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceClient } from '../../src-renderer/authenticator/device-client'
import type { TestServer } from '../helpers/server'
import { ChallengeBrowser, labOver, restart, startLab, type Lab } from './acs-lab'
import { activatedPhone, enrol, type Holder } from './mobile-lab'

/**
 * 3-D Secure for cardholders whose method is `mobile-signature` but who cannot use it now: no active
 * authenticator means an SMS code instead (the ledger says so), no mobile number either means U/22. And the
 * rotating QR codes survive a restart of the server: their key is sealed in the database.
 */
const servers: TestServer[] = []
afterAll(async () => {
  for (const srv of servers) {
    await srv.stop()
    rmSync(srv.dataDir, { recursive: true, force: true })
  }
})

async function lab(): Promise<Lab> {
  const l = await startLab()
  servers.push(l.srv)
  return l
}

async function ledger(l: Lab, acsTransID: string): Promise<Record<string, unknown>> {
  const res = await l.srv.api(`/api/transactions/${acsTransID}`, { token: l.token })
  expect(res.status).toBe(200)
  return ((await res.json()) as { transaction: Record<string, unknown> }).transaction
}

/** A browser challenge answered with the SMS code from the virtual phone. */
async function challengeWithSmsCode(l: Lab, holder: Holder): Promise<void> {
  const purchase = await l.purchase({ pan: holder.pan, amount: 2300, flow: 'challenge' })
  expect(purchase.ares).toMatchObject({ transStatus: 'C', authenticationType: '02' })
  const row = await ledger(l, purchase.acsTransID!)
  expect(row.method).toBe('sms-otp')
  expect(String(row.decisionReason)).toContain(
    'mobile-signature cannot reach the cardholder now: sms-otp instead',
  )
  const browser = new ChallengeBrowser(String(purchase.ares.acsURL))
  await browser.open(purchase.creq!, purchase.threeDSSessionData)
  expect(browser.html).not.toContain('authenticator')
  await browser.act('submit', await l.lastCode(holder.mobile))
  expect(await browser.deliverFinal()).toMatchObject({ transStatus: 'Y' })
  expect((await l.rreqs(purchase.id))[0]).toMatchObject({ transStatus: 'Y', authenticationType: '02' })
}

describe('fallback when the mobile signature cannot reach the cardholder', () => {
  let l: Lab
  beforeAll(async () => {
    l = await lab()
  })

  it('no authenticator yet, or only a revoked one: an SMS code, and the ledger names the method used', async () => {
    const holder = await enrol(l, 401)
    await challengeWithSmsCode(l, holder)

    const phone = await activatedPhone(l, holder)
    const withPhone = await l.purchase({ pan: holder.pan, amount: 2300, flow: 'challenge' })
    expect(withPhone.ares).toMatchObject({ transStatus: 'C', authenticationType: '03' })
    expect(await ledger(l, withPhone.acsTransID!)).toMatchObject({ method: 'mobile-signature' })

    await phone.remove()
    await challengeWithSmsCode(l, holder)
  })

  it('neither an authenticator nor a mobile number: U/22, as for any method that cannot be used', async () => {
    const holder = await enrol(l, 402)
    l.srv.services.db.prepare('UPDATE cardholders SET mobile = NULL WHERE id = ?').run(holder.cardholderId)
    const purchase = await l.purchase({ pan: holder.pan, amount: 2300, flow: 'challenge' })
    expect(purchase.ares).toMatchObject({ transStatus: 'U', transStatusReason: '22' })
    expect(String((await ledger(l, purchase.acsTransID!)).decisionReason)).toContain(
      'method mobile-signature unavailable',
    )
  })
})

describe('rotating QR codes across a restart', () => {
  it('a code put on screen before the restart is accepted after it, and approves', async () => {
    const l = await lab()
    const holder = await enrol(l, 411)
    const phone = await activatedPhone(l, holder)
    const purchase = await l.purchase({ pan: holder.pan, amount: 8990, flow: 'decoupled' })
    expect(purchase.ares.transStatus).toBe('D')
    const opened = await l.srv.api('/api/mobile/screens', {
      method: 'POST',
      token: l.token,
      json: { acsTransID: purchase.acsTransID },
    })
    const { poiId } = (await opened.json()) as { poiId: string }
    const state = (await (await l.srv.api(`/poi/${poiId}/state`)).json()) as { qr: { link: string } }
    const token = new URL(state.qr.link).hash.replace(/^#poi=/, '')

    const srv = await restart(l.srv)
    servers[servers.indexOf(l.srv)] = srv
    const after = await labOver(srv)
    // The same phone (its key, its device id) talks to the new process on the same address.
    const samePhone = new DeviceClient(srv.url, phone.device)
    const view = await samePhone.resolveScreen(token)
    expect(view).toMatchObject({ acsTransID: purchase.acsTransID, poi: poiId })
    expect(await samePhone.decide(view, 'approve', token)).toEqual({ status: 'approved', transStatus: 'Y' })
    expect((await after.rreqs(purchase.id))[0]).toMatchObject({ transStatus: 'Y' })
    // The restart made no new key: the one sealed before it still signs.
    expect(srv.services.db.prepare('SELECT COUNT(*) FROM mobile_poi_keys').pluck().get()).toBe(1)
  })
})
