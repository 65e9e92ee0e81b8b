import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Keyring } from '../crypto/keyring'
import { Vault } from '../crypto/vault'
import { createLogger } from '../log'
import { migrate, openDatabase, type Db } from '../store/db'
import {
  GatewayError,
  type DeliveryReport,
  type IncomingSms,
  type OutgoingSms,
  type SendResult,
  type SmsGateway,
} from './gateway'
import { secret } from './redact'
import { SmsService } from './service'
import { VirtualPhoneGateway } from './virtual-phone'

/** A gateway whose behaviour each test scripts: it records what it was asked to send. */
class ScriptedGateway implements SmsGateway {
  readonly name = 'scripted'
  sent: OutgoingSms[] = []
  reports: ((r: DeliveryReport) => void)[] = []
  constructor(private behaviour: (m: OutgoingSms, n: number) => Promise<SendResult>) {}
  async send(m: OutgoingSms) {
    this.sent.push(m)
    return this.behaviour(m, this.sent.length)
  }
  onIncoming(_h: (s: IncomingSms) => void) {}
  onDeliveryReport(h: (r: DeliveryReport) => void) {
    this.reports.push(h)
  }
}

let services: SmsService[] = []
afterEach(async () => {
  await Promise.all(services.map((s) => s.stop()))
  services = []
})

function setup(db: Db = openDatabase(':memory:'), master = randomBytes(32), log = createLogger('silent')) {
  migrate(db)
  const sms = new SmsService(db, new Vault(new Keyring(db, master), db), log)
  services.push(sms)
  return { db, sms, master }
}

const settle = (sms: SmsService, status: string) =>
  new Promise<void>((resolve) => {
    const on = (e: { status: string }) => {
      if (e.status === status) {
        sms.off('outbox', on)
        resolve()
      }
    }
    sms.on('outbox', on)
  })

describe('SMS outbox', () => {
  it('sends once per idempotency key, codes first, and masks codes in the stored display text', async () => {
    const { db, sms } = setup()
    const gw = new ScriptedGateway(async () => ({ messageRef: '7' }))
    sms.enqueue({ to: '+447700900001', text: 'You paid 10 EUR', kind: 'notification', idempotencyKey: 'n1' })
    sms.enqueue({
      to: '+447700900001',
      text: `Your code ${secret('123456')} for 10 EUR`,
      kind: 'otp',
      priority: 0,
      idempotencyKey: 'o1',
    })
    expect(
      sms.enqueue({ to: '+447700900001', text: 'again', kind: 'otp', idempotencyKey: 'o1' }).duplicate,
    ).toBe(true)
    sms.useGateway(gw, 1)
    const bothSent = new Promise<void>((resolve) => sms.on('outbox', () => gw.sent.length === 2 && resolve()))
    sms.start()
    await bothSent
    await new Promise((r) => setTimeout(r, 20))
    expect(gw.sent.map((m) => m.text)).toEqual(['Your code 123456 for 10 EUR', 'You paid 10 EUR'])
    const display = db.prepare(`SELECT text_display FROM sms_outbox WHERE kind = 'otp'`).pluck().get()
    expect(display).toBe('Your code •••••• for 10 EUR')
    const raw = db.prepare(`SELECT text_sealed FROM sms_outbox WHERE kind = 'otp'`).pluck().get() as Buffer
    expect(raw.length).toBeGreaterThan(0)
    expect(raw.includes(Buffer.from('123456'))).toBe(false)
    // A text without a code is its own display copy: nothing is sealed for it.
    const note = db.prepare(`SELECT id, text_sealed FROM sms_outbox WHERE kind = 'notification'`).get() as {
      id: number
      text_sealed: Buffer
    }
    expect(note.text_sealed.length).toBe(0)
    expect(sms.clearText(note.id)).toBe('You paid 10 EUR')
  })

  it('re-seals code texts when the key rotates and leaves unsealed texts alone', async () => {
    const { db, master } = setup()
    const keyring = new Keyring(db, master)
    const vault = new Vault(keyring, db)
    vault.registerSealedColumn(SmsService.SEALED_TEXT)
    const sms = new SmsService(db, vault, createLogger('silent'))
    services.push(sms)
    const code = sms.enqueue({
      to: '+447700900001',
      text: `code ${secret('4242')}`,
      kind: 'otp',
      idempotencyKey: 'c',
    })
    const note = sms.enqueue({
      to: '+447700900001',
      text: 'hello',
      kind: 'notification',
      idempotencyKey: 'n',
    })
    const before = db.prepare('SELECT text_sealed FROM sms_outbox WHERE id = ?').pluck()
    const sealedBefore = before.get(code.id) as Buffer
    expect(await vault.rotate('secret-enc')).toMatchObject({ reencrypted: 1 })
    expect((before.get(code.id) as Buffer).equals(sealedBefore)).toBe(false)
    expect(sms.clearText(code.id)).toBe('code 4242')
    expect(sms.clearText(note.id)).toBe('hello')
  })

  it('claims a batch up to the gateway concurrency, never more in flight, codes before notifications', async () => {
    const { db, sms } = setup()
    const release: (() => void)[] = []
    let inFlight = 0
    let most = 0
    const gw = new ScriptedGateway(async () => {
      most = Math.max(most, ++inFlight)
      await new Promise<void>((r) => release.push(r))
      inFlight--
      return { delivered: true }
    })
    for (let i = 0; i < 10; i++)
      sms.enqueue({
        to: '+447700900010',
        text: i % 3 === 0 ? `code ${i}` : `note ${i}`,
        kind: i % 3 === 0 ? 'otp' : 'notification',
        priority: i % 3 === 0 ? 0 : 1,
        idempotencyKey: `batch-${i}`,
      })
    sms.useGateway(gw, 3)
    sms.start()
    await vi.waitFor(() => expect(release).toHaveLength(3))
    expect(db.prepare(`SELECT count(*) FROM sms_outbox WHERE status = 'sending'`).pluck().get()).toBe(3)
    while (gw.sent.length < 10 || release.length > 0) {
      release.shift()?.()
      await new Promise((r) => setTimeout(r, 5))
    }
    await vi.waitFor(() =>
      expect(db.prepare(`SELECT count(*) FROM sms_outbox WHERE status = 'delivered'`).pluck().get()).toBe(10),
    )
    expect(most).toBe(3)
    expect(gw.sent.slice(0, 4).map((m) => m.text)).toEqual(['code 0', 'code 3', 'code 6', 'code 9'])
  })

  it('sends nothing while its "sending" state cannot reach the disk, and retries once it can', async () => {
    const db = openDatabase(':memory:')
    migrate(db)
    let diskFails = true
    const sms = new SmsService(
      db,
      new Vault(new Keyring(db, randomBytes(32)), db),
      createLogger('silent'),
      async () => {
        if (diskFails) throw new Error('EIO: i/o error, fdatasync')
      },
    )
    services.push(sms)
    const gw = new ScriptedGateway(async () => ({ messageRef: '5' }))
    sms.useGateway(gw)
    const id = sms.enqueue({ to: '+447700900011', text: 'hi', kind: 'test', idempotencyKey: 'disk' }).id
    const requeued = settle(sms, 'queued')
    sms.start()
    await requeued
    expect(gw.sent).toHaveLength(0)
    expect(sms.outbox({ limit: 1 })[0]).toMatchObject({
      id,
      status: 'queued',
      last_error: 'the outbox could not be written to disk',
    })
    diskFails = false
    await settle(sms, 'sent')
    expect(gw.sent).toHaveLength(1)
    expect(sms.outbox({ limit: 1 })[0]).toMatchObject({ id, status: 'sent', attempts: 2 })
  })

  it('retries a retryable failure with back-off and fails a permanent one', async () => {
    const { sms } = setup()
    const gw = new ScriptedGateway(async (m, n) => {
      if (m.to.endsWith('9')) throw new GatewayError('+CMS ERROR: 21 (rejected)', false)
      if (n === 1) throw new GatewayError('modem busy', true)
      return { messageRef: '12' }
    })
    sms.useGateway(gw)
    const a = sms.enqueue({ to: '+447700900002', text: 'hi', kind: 'test', idempotencyKey: 'a' }).id
    const sent = settle(sms, 'sent')
    sms.start()
    await sent
    const b = sms.enqueue({ to: '+447700900009', text: 'hi', kind: 'test', idempotencyKey: 'b' }).id
    await settle(sms, 'failed')
    const rows = sms.outbox({ limit: 10 })
    expect(rows.find((r) => r.id === a)).toMatchObject({ status: 'sent', attempts: 2, message_ref: '12' })
    expect(rows.find((r) => r.id === b)).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: expect.stringMatching(/CMS ERROR: 21/),
    })
  })

  it('marks a sent message delivered when its status report comes back', async () => {
    const { sms } = setup()
    const gw = new ScriptedGateway(async () => ({ messageRef: '42', modem: 'm1' }))
    sms.useGateway(gw)
    const id = sms.enqueue({ to: '+447700900003', text: 'hi', kind: 'test', idempotencyKey: 'c' }).id
    const sent = settle(sms, 'sent')
    sms.start()
    await sent
    gw.reports[0]({ messageRef: '42', modem: 'm1', delivered: true, at: Date.now() })
    expect(sms.outbox({ limit: 1 })[0]).toMatchObject({ id, status: 'delivered' })
  })

  it('a reused TP-MR: the report settles the message sent to the recipient it names, in whatever form', async () => {
    const { db, sms } = setup()
    const gw = new ScriptedGateway(async () => ({ messageRef: '5', modem: 'm1' })) // 256 sends apart
    sms.useGateway(gw)
    const older = sms.enqueue({ to: '+447700900011', text: 'hi', kind: 'test', idempotencyKey: 'r1' }).id
    const sent = settle(sms, 'sent')
    sms.start()
    await sent
    const newer = sms.enqueue({ to: '+447700900012', text: 'hi', kind: 'test', idempotencyKey: 'r2' }).id
    await settle(sms, 'sent')
    const status = (id: number) => db.prepare('SELECT status FROM sms_outbox WHERE id = ?').pluck().get(id)
    const report = (recipient: string) =>
      gw.reports[0]({ messageRef: '5', modem: 'm1', recipient, delivered: true, at: Date.now() })
    report('+447700900099') // nobody we sent to under this reference: nothing is settled
    expect([status(older), status(newer)]).toEqual(['sent', 'sent'])
    report('07700900011') // national form, trunk 0
    expect([status(older), status(newer)]).toEqual(['delivered', 'sent'])
    report('00447700900012')
    expect(status(newer)).toBe('delivered')
  })

  it('a status report that overtakes the record of its own send still marks the message', async () => {
    const { sms } = setup()
    const gw: ScriptedGateway = new ScriptedGateway(async () => {
      // The modem's +CDS arrives in the same read as its +CMGS answer.
      gw.reports[0]({ messageRef: '77', modem: 'm1', delivered: true, at: Date.now() })
      return { messageRef: '77', modem: 'm1' }
    })
    sms.useGateway(gw)
    const id = sms.enqueue({ to: '+447700900008', text: 'hi', kind: 'test', idempotencyKey: 'q' }).id
    const delivered = settle(sms, 'delivered')
    sms.start()
    await delivered
    expect(sms.outbox({ limit: 1 })[0]).toMatchObject({ id, status: 'delivered', message_ref: '77' })
  })

  it('a message sent in parts is delivered once every part is, across a restart; one failed part fails it', async () => {
    const { db, sms, master } = setup()
    let ref = 11
    const gw = new ScriptedGateway(async () => ({ messageRef: `${++ref},${++ref}`, modem: 'm1' }))
    sms.useGateway(gw)
    const a = sms.enqueue({ to: '+447700900006', text: 'long', kind: 'test', idempotencyKey: 'p1' }).id // 12,13
    const sentA = settle(sms, 'sent')
    sms.start()
    await sentA
    const b = sms.enqueue({ to: '+447700900007', text: 'long', kind: 'test', idempotencyKey: 'p2' }).id // 14,15
    await settle(sms, 'sent')
    const status = (id: number) => db.prepare('SELECT status FROM sms_outbox WHERE id = ?').pluck().get(id)
    gw.reports[0]({ messageRef: '13', modem: 'm1', delivered: true, at: Date.now() })
    expect(status(a)).toBe('sent') // one part of two
    await sms.stop()
    const again = setup(db, master).sms // the server restarts between the two reports
    const gw2 = new ScriptedGateway(async () => ({ messageRef: '1' }))
    again.useGateway(gw2)
    gw2.reports[0]({ messageRef: '12', modem: 'm1', delivered: true, at: Date.now() })
    expect(status(a)).toBe('delivered')
    gw2.reports[0]({ messageRef: '15', modem: 'm1', delivered: false, at: Date.now() })
    expect(status(b)).toBe('failed')
  })

  it('after a crash mid-send, sends the message again once and flags it as a possible duplicate', async () => {
    const { db, sms, master } = setup()
    const id = sms.enqueue({ to: '+447700900004', text: 'hi', kind: 'test', idempotencyKey: 'd' }).id
    db.prepare(`UPDATE sms_outbox SET status = 'sending', attempts = 1 WHERE id = ?`).run(id) // as a killed process leaves it
    const again = setup(db, master).sms
    const gw = new ScriptedGateway(async () => ({ messageRef: '1' }))
    again.useGateway(gw)
    const sent = settle(again, 'sent')
    again.start()
    await sent
    expect(gw.sent).toHaveLength(1)
    expect(again.outbox({ limit: 1 })[0]).toMatchObject({
      status: 'sent',
      possible_duplicate: 1,
      attempts: 2,
    })
  })

  it('after a second crash caught its flagged resend mid-send, fails the message instead of sending it a third time', async () => {
    const { db, sms, master } = setup()
    const twice = sms.enqueue({ to: '+447700900004', text: 'hi', kind: 'test', idempotencyKey: 'd2' }).id
    const once = sms.enqueue({ to: '+447700900004', text: 'hello', kind: 'test', idempotencyKey: 'd1' }).id
    // As killed processes leave them: `twice` was resent flagged after a first crash, and a second crash came
    // while that resend was in flight; `once` was caught by a crash for the first time.
    db.prepare(
      `UPDATE sms_outbox SET status = 'sending', attempts = 2, possible_duplicate = 1 WHERE id = ?`,
    ).run(twice)
    db.prepare(`UPDATE sms_outbox SET status = 'sending', attempts = 1 WHERE id = ?`).run(once)
    const log = createLogger('silent')
    const warn = vi.spyOn(log, 'warn')
    const again = setup(db, master, log).sms
    const gw = new ScriptedGateway(async () => ({ messageRef: '1' }))
    again.useGateway(gw)
    const sent = settle(again, 'sent')
    again.start()
    await sent
    expect(gw.sent.map((m) => m.id)).toEqual([once])
    const rows = again.outbox({ limit: 10 })
    expect(rows.find((r) => r.id === twice)).toMatchObject({
      status: 'failed',
      possible_duplicate: 1,
      attempts: 2,
      last_error: expect.stringMatching(/^not sent again: two attempts may both have gone out/),
    })
    expect(rows.find((r) => r.id === once)).toMatchObject({ status: 'sent', possible_duplicate: 1 })
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ sms: [twice] }),
      expect.stringMatching(/not sent again/),
    )
  })

  it('fails a code SMS that expired in the queue (a modem outage) instead of sending it late', async () => {
    const { sms } = setup()
    const gw = new ScriptedGateway(async () => ({ messageRef: '5' }))
    sms.useGateway(gw)
    const stale = sms.enqueue({
      to: '+447700900009',
      text: 'code 123456',
      kind: 'otp',
      idempotencyKey: 'x1',
      expiresAt: Date.now() - 1,
    }).id
    const fresh = sms.enqueue({
      to: '+447700900009',
      text: 'code 654321',
      kind: 'otp',
      idempotencyKey: 'x2',
      expiresAt: Date.now() + 60_000,
    }).id
    const done = Promise.all([settle(sms, 'sent'), settle(sms, 'failed')])
    sms.start()
    await done
    expect(gw.sent.map((m) => m.text)).toEqual(['code 654321'])
    const rows = sms.outbox({ limit: 10 })
    expect(rows.find((r) => r.id === stale)).toMatchObject({
      status: 'failed',
      last_error: expect.stringMatching(/^expired before it could be sent/),
    })
    expect(rows.find((r) => r.id === fresh)).toMatchObject({ status: 'sent' })
  })

  it('sends at most one duplicate: a second send that may have gone out is not followed by a third', async () => {
    const { sms } = setup()
    // Every send hangs after its PDU went out (a modem that never answers +CMGS).
    const gw = new ScriptedGateway(async () => {
      throw new GatewayError('timeout after the PDU', true, true)
    })
    sms.useGateway(gw)
    sms.enqueue({ to: '+447700900005', text: 'hi', kind: 'test', idempotencyKey: 'e' })
    const failed = settle(sms, 'failed')
    sms.start()
    await failed
    expect(gw.sent).toHaveLength(2)
    expect(sms.outbox({ limit: 1 })[0]).toMatchObject({
      status: 'failed',
      possible_duplicate: 1,
      attempts: 2,
      last_error: expect.stringMatching(/^not sent again: two attempts may both have gone out/),
    })
  })

  it('fails a message it cannot decrypt and goes on sending the others', async () => {
    const { db, sms } = setup()
    const bad = sms.enqueue({ to: '+447700900005', text: 'lost', kind: 'test', idempotencyKey: 'e' }).id
    sms.enqueue({ to: '+447700900005', text: 'fine', kind: 'test', idempotencyKey: 'f' })
    // As a restore under another master key or a damaged page leaves it.
    db.prepare('UPDATE sms_outbox SET text_sealed = randomblob(60) WHERE id = ?').run(bad)
    const gw = new ScriptedGateway(async () => ({ messageRef: '1' }))
    sms.useGateway(gw)
    const sent = settle(sms, 'sent')
    sms.start()
    await sent
    expect(gw.sent.map((m) => m.text)).toEqual(['fine'])
    expect(sms.outbox({ limit: 2 }).map((m) => [m.status, m.last_error])).toEqual([
      ['sent', null],
      ['failed', 'the stored text cannot be decrypted'],
    ])
  })
})

describe('SMS outbox with a gateway that delivers by recording (the virtual phone)', () => {
  it('delivers what was queued before it came, codes first, without sending; then each message as it is written', async () => {
    const { db, sms } = setup()
    const recording = new VirtualPhoneGateway()
    const send = vi.spyOn(recording, 'send')
    const note = sms.enqueue({
      to: '+447700900011',
      text: 'You paid',
      kind: 'notification',
      idempotencyKey: 'n',
    })
    const code = sms.enqueue({
      to: '+447700900011',
      text: `code ${secret('9911')}`,
      kind: 'otp',
      priority: 0,
      idempotencyKey: 'o',
    })
    const lost = sms.enqueue({
      to: '+447700900011',
      text: `code ${secret('1')}`,
      kind: 'otp',
      idempotencyKey: 'l',
    })
    db.prepare('UPDATE sms_outbox SET text_sealed = randomblob(60) WHERE id = ?').run(lost.id)
    const events: [number, string][] = []
    sms.on('outbox', (e: { id: number; status: string }) => events.push([e.id, e.status]))
    sms.useGateway(recording, VirtualPhoneGateway.concurrency)
    const failed = settle(sms, 'failed')
    sms.start()
    await failed
    await vi.waitUntil(() => events.length === 3)
    expect(send).not.toHaveBeenCalled()
    // In claim order: the codes (priority 0) first; never a "sending" state.
    expect(events).toEqual([
      [code.id, 'delivered'],
      [note.id, 'delivered'],
      [lost.id, 'failed'],
    ])
    const rows = sms.outbox({ limit: 3 })
    expect(rows.find((r) => r.id === code.id)).toMatchObject({
      status: 'delivered',
      gateway: 'virtual',
      attempts: 1,
      sent_at: expect.any(Number),
      delivered_at: expect.any(Number),
    })
    expect(rows.find((r) => r.id === lost.id)).toMatchObject({
      status: 'failed',
      last_error: 'the stored text cannot be decrypted',
    })
    expect(sms.clearText(code.id)).toBe('code 9911')
    // Once it is running, a message is delivered as it is written.
    const next = sms.enqueue({
      to: '+447700900011',
      text: 'again',
      kind: 'notification',
      idempotencyKey: 'a',
    })
    expect(sms.outbox({ limit: 1 })[0]).toMatchObject({ id: next.id, status: 'delivered', attempts: 1 })
    expect(events.at(-1)).toEqual([next.id, 'delivered'])
    expect(send).not.toHaveBeenCalled()
  })
})

describe('SMS inbox', () => {
  it('keeps every incoming SMS and records which handler took it', async () => {
    const { db, sms } = setup()
    sms.onIncomingSms('fraud', (m) =>
      /^\s*fraud\s+(\w+)/i.test(m.text) ? { outcome: 'matched', ref: m.text.split(/\s+/)[1] } : undefined,
    )
    const matched = await sms.receive(
      { from: '+447700900005', text: 'FRAUD AB12', receivedAt: Date.now() },
      'virtual',
    )
    const unknown = await sms.receive(
      { from: '+447700900006', text: 'hello?', receivedAt: Date.now() },
      'virtual',
    )
    expect(matched).toMatchObject({ outcome: 'matched', ref: 'AB12' })
    expect(unknown.outcome).toBe('unmatched')
    expect(db.prepare('SELECT outcome, handled_by FROM sms_inbox ORDER BY id').all()).toEqual([
      { outcome: 'matched', handled_by: 'fraud' },
      { outcome: 'unmatched', handled_by: null },
    ])
  })
})
