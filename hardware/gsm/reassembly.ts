/**
 * Joins the parts of concatenated incoming SMS. Parts may arrive out of order, twice (modems resend
 * after a lost ack) or never; after `timeoutMs` without the last part, what arrived is delivered
 * marked incomplete, as gammu-smsd's MultipartTimeout does, so a reply is never silently lost.
 *
 * A part read from the modem's memory may be left there (`add` with its location) until its message has been
 * delivered; then `release` is told to delete it. Until then a crash loses nothing: the parts are read again
 * at the next start and joined with the ones still to come.
 */
import type { Address, DecodedDeliver, Timestamp } from './pdu'

export interface IncomingSms {
  from: Address
  text: string
  /** Service-centre timestamp of the first part. */
  timestamp: Timestamp
  parts: number
  /** False when the timeout fired before every part arrived; `missingParts` says which. */
  complete: boolean
  missingParts: number[]
  smsc?: string
}

/** A slot of the modem's message memory. */
export interface StoredAt {
  memory: string
  index: number
}

export interface ReassemblerOptions {
  timeoutMs: number
  onMessage(sms: IncomingSms): void
  /** Parts left in the modem's memory that are no longer needed: delivered, or duplicates. */
  release(slots: StoredAt[]): void
}

interface Pending {
  total: number
  parts: Map<number, DecodedDeliver>
  /** Where the parts left in memory are. */
  kept: StoredAt[]
  /** Some part was not left in memory: a restart would lose it. */
  volatile: boolean
  timer: NodeJS.Timeout
}

const sameSlot = (a: StoredAt, b: StoredAt) => a.memory === b.memory && a.index === b.index

export class Reassembler {
  private readonly pending = new Map<string, Pending>()

  constructor(private readonly options: ReassemblerOptions) {}

  /** `at`: where the part stays in the modem's memory until its message is delivered (absent: nowhere). */
  add(part: DecodedDeliver, at?: StoredAt): void {
    const concat = part.userData.concat
    if (!concat || concat.total === 1) {
      this.options.onMessage(toMessage([part], 1))
      if (at) this.options.release([at])
      return
    }
    // The reference is only unique per sender, and 8- and 16-bit references are separate spaces.
    const key = `${part.originator.type}:${part.originator.value}/${concat.referenceBits}:${concat.reference}/${concat.total}`
    let entry = this.pending.get(key)
    if (!entry) {
      const timer = setTimeout(() => this.flush(key), this.options.timeoutMs)
      timer.unref()
      entry = { total: concat.total, parts: new Map(), kept: [], volatile: false, timer }
      this.pending.set(key, entry)
    }
    if (entry.parts.has(concat.sequence)) {
      if (at && !this.keeps(at)) this.options.release([at]) // a duplicate in a slot of its own
      return
    }
    entry.parts.set(concat.sequence, part)
    if (at) entry.kept.push(at)
    else entry.volatile = true
    if (entry.parts.size === entry.total) this.flush(key)
  }

  /** Number of messages still waiting for parts. */
  get waiting(): number {
    return this.pending.size
  }

  /** Whether the part in this slot is kept, waiting for the rest of its message. */
  keeps(at: StoredAt): boolean {
    for (const entry of this.pending.values()) if (entry.kept.some((k) => sameSlot(k, at))) return true
    return false
  }

  /** Parts left in the modem's memory, waiting for the rest of their message. */
  get kept(): number {
    let n = 0
    for (const entry of this.pending.values()) n += entry.kept.length
    return n
  }

  /**
   * On shutdown: a message whose parts all wait in the modem's memory is left there for the next start;
   * one with a part held nowhere else is delivered now, incomplete. Stops the timers.
   */
  flushAll(): void {
    for (const [key, entry] of [...this.pending]) {
      if (entry.volatile) this.flush(key)
      else {
        clearTimeout(entry.timer)
        this.pending.delete(key)
      }
    }
  }

  private flush(key: string): void {
    const entry = this.pending.get(key)
    if (!entry) return
    clearTimeout(entry.timer)
    this.pending.delete(key)
    const ordered = [...entry.parts.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p)
    this.options.onMessage(toMessage(ordered, entry.total))
    if (entry.kept.length > 0) this.options.release(entry.kept)
  }
}

function toMessage(parts: DecodedDeliver[], total: number): IncomingSms {
  const present = new Set(parts.map((p) => p.userData.concat?.sequence ?? 1))
  const missingParts: number[] = []
  for (let i = 1; i <= total; i++) if (!present.has(i)) missingParts.push(i)
  const first = parts[0]
  return {
    from: first.originator,
    text: parts.map((p) => p.userData.text).join(''),
    timestamp: first.timestamp,
    parts: total,
    complete: missingParts.length === 0,
    missingParts,
    smsc: first.smsc,
  }
}
