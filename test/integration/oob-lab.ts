import type { Lab } from './acs-lab'

/** Steps shared by the out-of-band tests, on top of the ACS lab. */
export interface SmsReply {
  id: number
  outcome: string
  ref?: string
}

/** Switches a demo cardholder (by mobile) to another authentication method, through the repository. */
export function useMethod(lab: Lab, mobile: string, method: string): void {
  const id = lab.srv.services.db
    .prepare('SELECT id FROM cardholders WHERE mobile = ?')
    .pluck()
    .get(mobile) as number
  lab.srv.services.cardholders.update(id, { method: method as never, reason: 'oob test' }, 'test')
}

/** An SMS from a phone, injected through the virtual phone API exactly as a modem delivers it. */
export async function reply(lab: Lab, from: string, text: string): Promise<SmsReply> {
  const res = await lab.srv.api('/api/virtual-phone/reply', {
    method: 'POST',
    token: lab.token,
    json: { from, text },
  })
  if (res.status !== 201) throw new Error(`reply: ${res.status} ${await res.text()}`)
  return (await res.json()) as SmsReply
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 10_000,
): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const v = await probe()
    if (v !== undefined && v !== false) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The reference in the last Push A request sent to a phone ("… Reply YES K7QD …"). */
export async function lastReference(lab: Lab, mobile: string): Promise<string> {
  const texts = await lab.smsTexts(mobile)
  const text = [...texts].reverse().find((t) => /YES [A-Z0-9]{2,16}/.test(t))
  const m = /YES ([A-Z0-9]{2,16})/.exec(text ?? '')
  if (!m) throw new Error(`no Push A request in the SMS to ${mobile}`)
  return m[1]
}

/** Posts one of our challenge pages' forms (Continue / Cancel) with its hidden fields. */
export async function postStep(acsURL: string, html: string, action: string): Promise<string> {
  const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? ''
  const res = await fetch(acsURL, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ acsTransID: field('acsTransID'), nonce: field('nonce'), action }).toString(),
  })
  return res.text()
}
