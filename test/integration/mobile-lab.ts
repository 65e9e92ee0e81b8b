import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { DeviceClient, type DeviceDescription } from '../../src-renderer/authenticator/device-client'
import { ChallengeBrowser, type Lab, type Purchase } from './acs-lab'

/** Shared steps of the mobile authenticator tests: enrolled cardholders with activated simulated phones. */
export const PHONE: DeviceDescription = {
  platform: 'Linux armv8l',
  userAgent: 'Mozilla/5.0 (Linux; Android 14) vitest',
  screen: '412x915@2.6',
  timeZone: 'Europe/Paris',
}

/** A Luhn-valid 16-digit Visa number from a short serial (the demo issuer's ranges cover every Visa). */
export function visaPan(serial: number): string {
  const body = `497010${String(serial).padStart(9, '0')}`
  let sum = 0
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i])
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2
    sum += d
  }
  return body + String((10 - (sum % 10)) % 10)
}

export interface Holder {
  cardholderId: number
  cardId: number
  pan: string
  mobile: string
}

export async function enrol(lab: Lab, serial: number): Promise<Holder> {
  const pan = visaPan(serial)
  const mobile = `+4477009${String(serial).padStart(5, '0')}`
  const res = await lab.srv.api('/api/cardholders', {
    method: 'POST',
    token: lab.token,
    json: {
      pan,
      expiry: '3012',
      name: `Mobile ${serial}`,
      mobile,
      language: 'en',
      method: 'mobile-signature',
    },
  })
  expect(res.status).toBe(201)
  const view = (await res.json()) as { id: number; cards: { id: number }[] }
  return { cardholderId: view.id, cardId: view.cards[0].id, pan, mobile }
}

/** The operator's activation QR code: returns the token carried in its link. */
export async function activationToken(lab: Lab, cardholderId: number): Promise<string> {
  const res = await lab.srv.api(`/api/mobile/cardholders/${cardholderId}/activations`, {
    method: 'POST',
    token: lab.token,
  })
  expect(res.status).toBe(201)
  const { link } = (await res.json()) as { link: string }
  return new URL(link).hash.replace(/^#activate=/, '')
}

export async function lastSmsCode(lab: Lab, mobile: string): Promise<string> {
  const texts = await lab.smsTexts(mobile)
  const m = /code (\d{6})/.exec(texts.at(-1) ?? '')
  if (!m) throw new Error(`no code in the last SMS to ${mobile}`)
  return m[1]
}

/** A simulated phone that went through both activation factors. */
export async function activatedPhone(lab: Lab, holder: Holder, name = 'Test phone'): Promise<DeviceClient> {
  const phone = new DeviceClient(lab.srv.url)
  await phone.activate(await activationToken(lab, holder.cardholderId), name, PHONE)
  await phone.confirm(await lastSmsCode(lab, holder.mobile))
  return phone
}

/** A browser purchase whose challenge page is open (so the approval request exists). */
export async function browserChallenge(
  lab: Lab,
  holder: Holder,
  amount = 4999,
): Promise<{ purchase: Purchase; browser: ChallengeBrowser }> {
  const purchase = await lab.purchase({ pan: holder.pan, amount, flow: 'challenge' })
  expect(purchase.ares.transStatus).toBe('C')
  const browser = new ChallengeBrowser(String(purchase.ares.acsURL))
  await browser.open(purchase.creq!, purchase.threeDSSessionData)
  return { purchase, browser }
}

/** Waits until the phone lists the approval of this transaction. */
export async function approvalOf(phone: DeviceClient, acsTransID: string) {
  for (let i = 0; i < 100; i++) {
    const found = (await phone.approvals()).find((a) => a.acsTransID === acsTransID)
    if (found) return found
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`no approval request for ${acsTransID}`)
}

/** IEEE P1363 r‖s → DER ECDSA-Sig-Value, for tools that want DER (openssl dgst). */
export function p1363ToDer(sig: Buffer): Buffer {
  const int = (b: Buffer) => {
    let v = b
    while (v.length > 1 && v[0] === 0 && v[1] < 0x80) v = v.subarray(1)
    if (v[0] >= 0x80) v = Buffer.concat([Buffer.from([0]), v])
    return Buffer.concat([Buffer.from([0x02, v.length]), v])
  }
  const body = Buffer.concat([int(sig.subarray(0, 32)), int(sig.subarray(32))])
  return Buffer.concat([Buffer.from([0x30, body.length]), body])
}

/** `openssl dgst -sha256 -verify`: an implementation independent of node:crypto's verify call. */
export function opensslVerifies(spkiDer: Buffer, record: string, p1363: Buffer): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'ims-mobile-sig-'))
  try {
    const pem = `-----BEGIN PUBLIC KEY-----\n${spkiDer.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PUBLIC KEY-----\n`
    writeFileSync(join(dir, 'pub.pem'), pem)
    writeFileSync(join(dir, 'record.txt'), record)
    writeFileSync(join(dir, 'sig.der'), p1363ToDer(p1363))
    try {
      const out = execFileSync(
        'openssl',
        [
          'dgst',
          '-sha256',
          '-verify',
          join(dir, 'pub.pem'),
          '-signature',
          join(dir, 'sig.der'),
          join(dir, 'record.txt'),
        ],
        { encoding: 'utf8' },
      )
      return out.trim() === 'Verified OK'
    } catch {
      return false
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
