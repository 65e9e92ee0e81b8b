/**
 * SIM PINs a SIM has refused, so that the driver never enters the same wrong PIN twice: a SIM allows three
 * tries before it wants its PUK, and the pool reopens a failing modem after every `deadRetryMs` and on every
 * reset, so a wrong PIN entered on each open locks the SIM within minutes. Only an HMAC of each PIN is kept,
 * under a key made for this process, never the PIN itself. A user of the driver that keeps the fact across
 * restarts (the server: `modems.pin_rejected`) passes the PINs refused before and hears of each new refusal.
 */
import { createHmac, randomBytes } from 'node:crypto'

export class RejectedPins {
  private readonly key = randomBytes(32)
  private readonly digests = new Set<string>()
  private readonly onRejected: ((pin: string) => void) | undefined

  constructor(
    options: {
      /** PINs refused before (by an earlier process). */
      rejected?: readonly string[]
      /** Told of each PIN the SIM refuses, as the driver entered it. */
      onRejected?: (pin: string) => void
    } = {},
  ) {
    for (const pin of options.rejected ?? []) this.digests.add(this.digest(pin))
    this.onRejected = options.onRejected
  }

  has(pin: string): boolean {
    return this.digests.has(this.digest(pin))
  }

  add(pin: string): void {
    this.digests.add(this.digest(pin))
    this.onRejected?.(pin)
  }

  /** The operator changed the PIN in the configuration: any PIN may be entered (once) again. */
  clear(): void {
    this.digests.clear()
  }

  private digest(pin: string): string {
    return createHmac('sha256', this.key).update(pin).digest('base64')
  }
}
