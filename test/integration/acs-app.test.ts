import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeAReq } from '../../src-server/acs/fixtures/areq'
import { cresViolations } from '../../src-server/acs/protocol/cres'
import { SdkEmulator } from '../../src-server/lab/sdk'
import { CARDS, startLab, type Lab } from './acs-lab'

/**
 * App channel end to end: the lab SDK emulator (ECDH + Concat KDF + dir JWE with counter IVs, CRes
 * decrypted with the `jose` library) against /acs/v2/app, and each CRes checked against the SDK rules.
 */
let lab: Lab
let roots: string[]
beforeAll(async () => {
  lab = await startLab()
  roots = ['visa', 'mastercard'].map((b) => lab.srv.services.acs.keys.rootPem(b)!)
})
afterAll(async () => {
  await lab.srv.stop()
})

async function appPurchase(
  pan: string,
  enc: 'A128CBC-HS256' | 'A128GCM' = 'A128CBC-HS256',
  ui: '01' | '05' = '01',
) {
  const sdk = new SdkEmulator(enc)
  const areq = makeAReq('2.2.0', 'APP', 'PA')
  Object.assign(areq, {
    threeDSServerTransID: crypto.randomUUID(),
    dsTransID: crypto.randomUUID(),
    dsURL: `${lab.srv.url}/lab/ds/rreq`,
    acctNumber: pan,
    threeDSRequestorChallengeInd: '04',
    sdkTransID: sdk.sdkTransID,
    sdkReferenceNumber: sdk.sdkReferenceNumber,
    sdkEphemPubKey: sdk.publicJwk,
    ...(ui === '05' && { deviceRenderOptions: { sdkInterface: '02', sdkUiType: ['05'] } }),
  })
  const res = await fetch(`${lab.srv.url}/acs/v2/areq`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(areq),
  })
  const ares = (await res.json()) as Record<string, unknown>
  expect(ares).toMatchObject({
    transStatus: 'C',
    acsRenderingType: { acsInterface: ui === '05' ? '02' : '01', acsUiTemplate: ui },
  })
  await sdk.accept(ares, roots)
  return {
    sdk,
    ares,
    rreqs: () =>
      lab.srv.services.db
        .prepare('SELECT body FROM lab_ds_rreqs WHERE acs_trans_id = ?')
        .pluck()
        .all(ares.acsTransID)
        .map((b) => JSON.parse(b as string) as Record<string, unknown>),
  }
}

async function waitRReqs(get: () => Record<string, unknown>[]) {
  for (let i = 0; i < 100 && get().length === 0; i++) await new Promise((r) => setTimeout(r, 100))
  return get()
}

describe('app challenge', () => {
  for (const enc of ['A128CBC-HS256', 'A128GCM'] as const) {
    it(`${enc}: native OTP screen, wrong code, right code → final CRes Y and RReq Y with interactionCounter 02`, async () => {
      const { sdk, rreqs } = await appPurchase(CARDS.visaEn.pan, enc)
      const first = await sdk.send()
      expect(first.contentType).toMatch(/^application\/jose/)
      expect(first.message).toMatchObject({
        acsUiType: '01',
        challengeCompletionInd: 'N',
        acsCounterAtoS: '000',
      })
      expect(cresViolations(first.message!, 'APP')).toEqual([])
      const code = await lab.lastCode(CARDS.visaEn.mobile)
      const wrong = await sdk.send({ challengeDataEntry: code === '000000' ? '111111' : '000000' })
      expect(wrong.message).toMatchObject({ challengeCompletionInd: 'N', challengeInfoTextIndicator: 'Y' })
      expect(String(wrong.message!.challengeInfoText)).toContain('2 attempts left')
      const final = await sdk.send({ challengeDataEntry: code })
      expect(final.message).toMatchObject({
        challengeCompletionInd: 'Y',
        transStatus: 'Y',
        acsCounterAtoS: '002',
        sdkTransID: sdk.sdkTransID,
      })
      expect(cresViolations(final.message!, 'APP')).toEqual([])
      const [rreq] = await waitRReqs(rreqs)
      expect(rreq).toMatchObject({
        transStatus: 'Y',
        interactionCounter: '02',
        sdkTransID: sdk.sdkTransID,
        acsRenderingType: { acsInterface: '01', acsUiTemplate: '01' },
      })
    })
  }

  it("HTML UI: the page's Resend sends a new code and uses no attempt; the new code then passes", async () => {
    const { sdk, rreqs } = await appPurchase(CARDS.visaEn.pan, 'A128CBC-HS256', '05')
    const first = await sdk.send()
    expect(first.message?.acsUiType).toBe('05')
    const html = Buffer.from(String(first.message!.acsHTML), 'base64url').toString('utf8')
    expect(html).toMatch(/name="action" value="resend"/)
    const before = await lab.smsTexts(CARDS.visaEn.mobile)
    // As the SDK serialises the form when the cardholder presses Resend: the empty code field included.
    for (let i = 0; i < 3; i++) {
      const again = await sdk.send({ challengeHTMLDataEntry: 'otp=&action=resend' })
      expect(again.message).toMatchObject({ acsUiType: '05', challengeCompletionInd: 'N' })
    }
    expect((await lab.smsTexts(CARDS.visaEn.mobile)).length).toBeGreaterThan(before.length)
    const final = await sdk.send({
      challengeHTMLDataEntry: `otp=${await lab.lastCode(CARDS.visaEn.mobile)}&action=submit`,
    })
    expect(final.message).toMatchObject({ challengeCompletionInd: 'Y', transStatus: 'Y' })
    const [rreq] = await waitRReqs(rreqs)
    expect(rreq).toMatchObject({ transStatus: 'Y', interactionCounter: '01' })
  })

  it('a replayed CReq gets Erro 302 and ends the transaction (challengeCancel 06)', async () => {
    const { sdk, rreqs } = await appPurchase(CARDS.visaEn.pan)
    await sdk.send()
    const replay = await sdk.post(sdk.lastCReq, 'application/jose')
    expect(replay.message).toMatchObject({ messageType: 'Erro', errorCode: '302', errorComponent: 'A' })
    const [rreq] = await waitRReqs(rreqs)
    expect(rreq).toMatchObject({ transStatus: 'U', challengeCancel: '06' })
  })

  it('a plain-JSON Erro from the SDK ends the transaction with challengeCancel 06', async () => {
    const { sdk, rreqs } = await appPurchase(CARDS.mastercardDe.pan)
    await sdk.send()
    const r = await sdk.sendErro()
    expect(r.httpStatus).toBe(204)
    const [rreq] = await waitRReqs(rreqs)
    expect(rreq).toMatchObject({ transStatus: 'U', challengeCancel: '06', interactionCounter: '00' })
  })

  it('a CReq after the challenge timed out gets Erro 402', async () => {
    await lab.settings({ firstCReqTimeoutSeconds: 1 })
    try {
      const { sdk, rreqs } = await appPurchase(CARDS.visaEn.pan)
      const [rreq] = await waitRReqs(rreqs)
      expect(rreq).toMatchObject({ transStatus: 'U', challengeCancel: '05' })
      const late = await sdk.send()
      expect(late.message).toMatchObject({ messageType: 'Erro', errorCode: '402', errorComponent: 'A' })
      expect(await waitRReqs(rreqs)).toHaveLength(1)
    } finally {
      await lab.settings({ firstCReqTimeoutSeconds: 30 })
    }
  })

  it('cancel from the SDK → final CRes N and RReq challengeCancel 01', async () => {
    const { sdk, rreqs } = await appPurchase(CARDS.visaEn.pan)
    await sdk.send()
    const r = await sdk.send({ challengeCancel: '01' })
    expect(r.message).toMatchObject({ challengeCompletionInd: 'Y', transStatus: 'N' })
    const all = await waitRReqs(rreqs)
    expect(all).toHaveLength(1)
    expect(all[0]).toMatchObject({ transStatus: 'N', challengeCancel: '01' })
  })

  it('the lab API drives the same emulator', async () => {
    const p = await lab.purchase({ pan: CARDS.visaEn.pan, amount: 5000, channel: 'app', flow: 'challenge' })
    expect(p.ares.transStatus).toBe('C')
    const step = async (body: Record<string, unknown>) =>
      (await (
        await lab.srv.api(`/api/lab/purchases/${p.id}/app`, { method: 'POST', token: lab.token, json: body })
      ).json()) as { message: Record<string, unknown> }
    expect((await step({ action: 'start' })).message.acsUiType).toBe('01')
    const code = await lab.lastCode(CARDS.visaEn.mobile)
    expect((await step({ action: 'code', code })).message).toMatchObject({ transStatus: 'Y' })
    expect((await lab.rreqs(p.id))[0]).toMatchObject({ transStatus: 'Y', interactionCounter: '01' })
  })

  it('python3-jwcrypto decrypts a CRes with the CEK re-derived by python3-cryptography (independent oracle)', async () => {
    const hasPython = (() => {
      try {
        execFileSync('/usr/bin/python3', ['-c', 'import jwcrypto, cryptography'])
        return true
      } catch {
        return false
      }
    })()
    if (!hasPython) return
    const { sdk } = await appPurchase(CARDS.visaEn.pan, 'A128GCM')
    const first = await sdk.send()
    const out = execFileSync('/usr/bin/python3', [
      '-c',
      ORACLE,
      sdk.exportPrivatePem(),
      sdk.acsPublicPem(),
      sdk.sdkReferenceNumber,
      first.jwe!,
    ]).toString()
    expect(JSON.parse(out)).toEqual(first.message)
  })
})

const ORACLE = `
import sys, json
from cryptography.hazmat.primitives import serialization, hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from jwcrypto import jwk, jwe
import base64
priv = serialization.load_pem_private_key(sys.argv[1].encode(), None)
pub = serialization.load_pem_public_key(sys.argv[2].encode())
ref, token = sys.argv[3].encode(), sys.argv[4]
z = priv.exchange(ec.ECDH(), pub)
info = bytes(4) + bytes(4) + len(ref).to_bytes(4, 'big') + ref + (256).to_bytes(4, 'big')
cek = ConcatKDFHash(algorithm=hashes.SHA256(), length=32, otherinfo=info).derive(z)
enc = jwe.JWE(); enc.deserialize(token)
key = cek[16:] if enc.jose_header['enc'] == 'A128GCM' else cek
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b'=').decode()
enc.decrypt(jwk.JWK(kty='oct', k=b64(key)))
print(enc.payload.decode())
`
