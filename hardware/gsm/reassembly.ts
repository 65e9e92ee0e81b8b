/**
 * Joins the parts of concatenated incoming SMS. Parts may arrive out of order, twice (modems resend
 * after a lost ack) or never; after `timeoutMs` without the last part, what arrived is delivered
 * marked incomplete, as gammu-smsd's MultipartTimeout does, so a reply is never silently lost.
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

export interface ReassemblerOptions {
  timeoutMs: number
  onMessage(sms: IncomingSms): void
}

interface Pending {
  total: number
  parts: Map<number, DecodedDeliver>
  timer: NodeJS.Timeout
}

export class Reassembler {
  private readonly pending = new Map<string, Pending>()

  constructor(private readonly options: ReassemblerOptions) {}

  add(part: DecodedDeliver): void {
    const concat = part.userData.concat
    if (!concat || concat.total === 1) {
      this.options.onMessage(toMessage([part], 1))
      return
    }
    // The reference is only unique per sender, and 8- and 16-bit references are separate spaces.
    const key = `${part.originator.type}:${part.originator.value}/${concat.referenceBits}:${concat.reference}/${concat.total}`
    let entry = this.pending.get(key)
    if (!entry) {
      const timer = setTimeout(() => this.flush(key), this.options.timeoutMs)
      timer.unref()
      entry = { total: concat.total, parts: new Map(), timer }
      this.pending.set(key, entry)
    }
    if (entry.parts.has(concat.sequence)) return // duplicate
    entry.parts.set(concat.sequence, part)
    if (entry.parts.size === entry.total) this.flush(key)
  }

  /** Number of messages still waiting for parts. */
  get waiting(): number {
    return this.pending.size
  }

  /** Delivers everything pending as incomplete (used on shutdown) and stops the timers. */
  flushAll(): void {
    for (const key of [...this.pending.keys()]) this.flush(key)
  }

  private flush(key: string): void {
    const entry = this.pending.get(key)
    if (!entry) return
    clearTimeout(entry.timer)
    this.pending.delete(key)
    const ordered = [...entry.parts.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p)
    this.options.onMessage(toMessage(ordered, entry.total))
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
