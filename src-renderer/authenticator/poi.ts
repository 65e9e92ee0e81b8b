/**
 * A point-of-interaction screen (shop terminal, call-centre desk): the payment and its QR code, which
 * changes every period. Each state request waits on the server until the payment is decided or the code is
 * due for a change, so a decision shows at once without polling.
 */
import './style.css'
import { h, show } from './dom'

interface ScreenState {
  merchant: string
  amountText?: string
  status: 'pending' | 'approved' | 'declined' | 'fraud' | 'expired'
  qr?: { link: string; image: string; expiresAt: string; refreshInMs: number }
}

const FINAL: Record<Exclude<ScreenState['status'], 'pending'>, string> = {
  approved: 'Approved by the cardholder',
  declined: 'Declined by the cardholder',
  fraud: 'Refused: the cardholder did not recognise this payment',
  expired: 'This payment request has expired',
}

/** The server holds a state request at most this long (GET /poi/:id/state?wait=). */
const MAX_WAIT_MS = 25_000
const root = document.getElementById('screen')!
const poiId = /^\/poi\/([A-Za-z0-9_-]{22})$/.exec(location.pathname)?.[1]

function render(s: ScreenState): void {
  const heading = h('h1', {}, s.merchant || 'Payment')
  const amount = s.amountText ? h('p', { class: 'amount' }, s.amountText) : undefined
  if (s.status !== 'pending' || !s.qr) {
    show(
      root,
      heading,
      amount,
      h(
        'p',
        { class: 'status', role: 'status', 'data-status': s.status },
        FINAL[s.status as keyof typeof FINAL] ?? s.status,
      ),
    )
    return
  }
  show(
    root,
    heading,
    amount,
    h('p', {}, 'Scan this code with your bank’s authenticator to approve the payment.'),
    h('img', { class: 'qr', src: s.qr.image, alt: 'QR code to approve the payment', 'data-link': s.qr.link }),
    h('p', { class: 'muted', role: 'status' }, 'The code changes every few seconds.'),
    h('details', {}, h('summary', {}, 'Cannot scan?'), h('p', { class: 'link' }, s.qr.link)),
  )
}

async function loop(wait = 0): Promise<void> {
  try {
    const res = await fetch(`/poi/${poiId}/state${wait ? `?wait=${wait}` : ''}`, { cache: 'no-store' })
    if (!res.ok) {
      show(
        root,
        h('h1', {}, 'Payment approval'),
        h('p', { role: 'alert' }, 'No payment is waiting on this screen.'),
      )
      return
    }
    const s = (await res.json()) as ScreenState
    render(s)
    if (s.status === 'pending' && s.qr) void loop(Math.min(s.qr.refreshInMs, MAX_WAIT_MS))
  } catch {
    setTimeout(() => void loop(), 3000)
  }
}

if (poiId) void loop()
else
  show(root, h('h1', {}, 'Payment approval'), h('p', { role: 'alert' }, 'This screen address is not valid.'))
