/**
 * SIM PINs a SIM has refused, so that the driver never enters the same wrong PIN twice: a SIM allows three
 * tries before it wants its PUK, and the pool reopens a failing modem after every `deadRetryMs` and on every
 * reset, so a wrong PIN entered on each open locks the SIM within minutes. Only an HMAC of each PIN is kept,
 * under a key made for this process, never the PIN itself.
 * The memory lasts as long as the process: a restart may enter a rejected PIN once more.
 */
import { createHmac, randomBytes } from 'node:crypto'

export class RejectedPins {
  private readonly key = randomBytes(32)
  private readonly digests = new Set<string>()

  has(pin: string): boolean {
    return this.digests.has(this.digest(pin))
  }

  add(pin: string): void {
    this.digests.add(this.digest(pin))
  }

  /** The operator changed the PIN in the configuration: any PIN may be entered (once) again. */
  clear(): void {
    this.digests.clear()
  }

  private digest(pin: string): string {
    return createHmac('sha256', this.key).update(pin).digest('base64')
  }
}
