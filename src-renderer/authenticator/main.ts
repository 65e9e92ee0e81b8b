/**
 * The cardholder's authenticator: activation from the bank's QR code (key pair + SMS code), then approval
 * requests as they arrive (server-sent events), from an SMS link or from a scanned payment-screen QR code.
 * Plain DOM, no inline script or style: it runs under the console's strict CSP.
 */
import './style.css'
import {
  DeviceClient,
  ServerError,
  type ApprovalView,
  type Decision,
  type DeviceDescription,
} from './device-client'
import { h, show } from './dom'
import { forgetDevice, loadDevice, saveDevice } from './key-store'

const app = document.getElementById('app')!
const client = new DeviceClient('')
/** Approvals on screen, by id, with the QR token that bound one to a payment screen. */
const approvals = new Map<string, { view: ApprovalView; poiToken?: string }>()
let notice: { text: string; error?: boolean } | undefined
let events: EventSource | undefined

function description(): DeviceDescription {
  return {
    platform: navigator.platform || 'unknown',
    userAgent: navigator.userAgent,
    screen: `${screen.width}x${screen.height}@${window.devicePixelRatio}`,
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'unknown',
  }
}

function messageOf(err: unknown): string {
  if (err instanceof ServerError) return err.detail ?? err.title
  return 'The bank could not be reached. Check the connection and try again.'
}

function noticeEl() {
  if (!notice) return undefined
  return h(
    'p',
    { class: notice.error ? 'notice error' : 'notice', role: notice.error ? 'alert' : 'status' },
    notice.text,
  )
}

/** Reads and clears the one-shot instruction in the address (#activate=, #approval=, #poi=). */
function takeHash(): { kind: 'activate' | 'approval' | 'poi'; value: string } | undefined {
  const m = /^#(activate|approval|poi)=([A-Za-z0-9_.-]{1,200})$/.exec(location.hash)
  if (!m) return undefined
  history.replaceState(null, '', location.pathname)
  return { kind: m[1] as 'activate' | 'approval' | 'poi', value: m[2] }
}

// ---------------------------------------------------------------------------------------- activation

function activationScreen(token: string): void {
  const name = h('input', { id: 'device-name', value: 'My phone', maxlength: '60', required: true })
  const button = h('button', { class: 'primary', type: 'submit' }, 'Activate this phone')
  const form = h(
    'form',
    {
      onsubmit: async (e: Event) => {
        e.preventDefault()
        button.disabled = true
        try {
          const started = await client.activate(token, name.value.trim() || 'My phone', description())
          await saveDevice(client.device!)
          notice = { text: `We sent a code by SMS to ${started.maskedMobile}.` }
          codeScreen()
        } catch (err) {
          notice = { text: messageOf(err), error: true }
          activationScreen(token)
        }
      },
    },
    h('label', { for: 'device-name' }, 'Name of this phone'),
    name,
    h('div', { class: 'actions' }, button),
  )
  show(
    app,
    h('h2', {}, 'Activate'),
    noticeEl(),
    h('p', {}, 'This phone will approve your card payments. A key is created on it that never leaves it.'),
    form,
  )
  notice = undefined
}

function codeScreen(): void {
  const code = h('input', {
    id: 'code',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    maxlength: '12',
    required: true,
  })
  const form = h(
    'form',
    {
      onsubmit: async (e: Event) => {
        e.preventDefault()
        try {
          await client.confirm(code.value.trim())
          notice = { text: 'This phone is now your authenticator.' }
          await home()
        } catch (err) {
          if (err instanceof ServerError && err.status === 410) {
            await forgetDevice()
            client.device = undefined
          }
          notice = { text: messageOf(err), error: true }
          if (client.device) codeScreen()
          else notActivated()
        }
      },
    },
    h('label', { for: 'code' }, 'Code from the SMS'),
    code,
    h('div', { class: 'actions' }, h('button', { class: 'primary', type: 'submit' }, 'Confirm')),
  )
  show(app, h('h2', {}, 'Confirm with the SMS code'), noticeEl(), form)
  notice = undefined
}

function notActivated(): void {
  show(
    app,
    h('h2', {}, 'Not activated'),
    noticeEl(),
    h(
      'p',
      {},
      'Ask your bank for an activation QR code (in a branch, by phone or after a payment), then scan it with this phone’s camera.',
    ),
  )
  notice = undefined
}

// ---------------------------------------------------------------------------------------- approvals

const RESULT: Record<Decision, string> = {
  approve: 'Payment approved. You can go back to the shop.',
  decline: 'Payment declined.',
  fraud: 'Payment refused and your card blocked. Your bank will contact you.',
}

async function decide(id: string, decision: Decision): Promise<void> {
  const entry = approvals.get(id)
  if (!entry) return
  if (decision === 'fraud' && !confirm('Block your card? Use this only if you did not make this payment.'))
    return
  try {
    await client.decide(entry.view, decision, entry.poiToken)
    notice = { text: RESULT[decision], error: decision === 'fraud' }
  } catch (err) {
    notice = { text: messageOf(err), error: true }
  }
  approvals.delete(id)
  render()
}

/** Payments outside 3-D Secure, by the channel the merchant asked through. */
const CHANNEL: Record<NonNullable<ApprovalView['channel']>, string> = {
  MOTO: 'Order by phone or mail',
  EDC: 'Payment at a shop terminal',
  ECOM: 'Online payment',
}

function approvalCard(entry: { view: ApprovalView; poiToken?: string }): HTMLElement {
  const a = entry.view
  const needsScan = a.presence === 'scan' && !entry.poiToken
  const headingId = `approval-${a.id}`
  return h(
    'section',
    { class: 'card', 'aria-labelledby': headingId, 'data-approval': a.acsTransID ?? a.authRequest ?? a.id },
    h('h2', { id: headingId }, a.merchant || 'Payment'),
    h('p', { class: 'amount' }, a.amountText ?? 'No amount'),
    a.channel ? h('p', { class: 'muted' }, CHANNEL[a.channel]) : undefined,
    h('p', { class: 'muted' }, `Card ${a.panMasked}`),
    entry.poiToken ? h('p', { class: 'notice' }, 'Scanned at the payment screen.') : undefined,
    needsScan
      ? h('p', { class: 'notice' }, 'Scan the QR code on the payment screen with your camera to approve.')
      : undefined,
    h(
      'div',
      { class: 'actions' },
      h(
        'button',
        { class: 'primary', disabled: needsScan, onclick: () => decide(a.id, 'approve') },
        'Approve',
      ),
      h('button', { onclick: () => decide(a.id, 'decline') }, 'Decline'),
      h('button', { class: 'danger', onclick: () => decide(a.id, 'fraud') }, 'This wasn’t me'),
    ),
  )
}

function deviceSection(name: string): HTMLElement {
  const input = h('input', { id: 'rename', value: name, maxlength: '60', required: true })
  return h(
    'details',
    {},
    h('summary', {}, 'This phone'),
    h(
      'form',
      {
        onsubmit: async (e: Event) => {
          e.preventDefault()
          try {
            await client.rename(input.value.trim())
            notice = { text: 'Renamed.' }
          } catch (err) {
            notice = { text: messageOf(err), error: true }
          }
          await home()
        },
      },
      h('label', { for: 'rename' }, 'Name'),
      input,
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Rename')),
    ),
    h(
      'div',
      { class: 'actions' },
      h(
        'button',
        {
          class: 'danger',
          onclick: async () => {
            if (!confirm('Remove this phone? It will no longer approve payments.')) return
            await client.remove().catch(() => undefined)
            await forgetDevice()
            client.device = undefined
            events?.close()
            notice = { text: 'This phone was removed.' }
            notActivated()
          },
        },
        'Remove this phone',
      ),
    ),
  )
}

let deviceName = ''

function render(): void {
  const cards = [...approvals.values()].sort((x, y) => y.view.issuedAt - x.view.issuedAt).map(approvalCard)
  show(
    app,
    noticeEl(),
    cards.length ? undefined : h('p', { class: 'muted' }, 'No payment is waiting for your approval.'),
    ...cards,
    deviceSection(deviceName),
  )
}

/** Listens for approval requests; a used or expired ticket means a new one, after a short pause. */
async function listen(): Promise<void> {
  events?.close()
  let url: string
  try {
    url = await client.eventsUrl(description())
  } catch (err) {
    if (err instanceof ServerError && err.status === 403) return revoked()
    setTimeout(listen, 5000)
    return
  }
  const source = new EventSource(url)
  events = source
  source.addEventListener('approval', (e) => {
    const view = JSON.parse((e as MessageEvent<string>).data) as ApprovalView
    // An update (e.g. "now needs the scan") keeps the screen this phone already scanned.
    const before = approvals.get(view.id)
    approvals.set(view.id, { view: { ...view, poi: before?.view.poi }, poiToken: before?.poiToken })
    render()
    // Reading it back tells the bank this phone has it on screen: without that read it texts the wake-up
    // link after the grace period, as for a phone whose event stream went dead.
    if (!before) void client.approval(view.id).catch(() => undefined)
  })
  source.addEventListener('closed', (e) => {
    approvals.delete((JSON.parse((e as MessageEvent<string>).data) as { id: string }).id)
    render()
  })
  source.addEventListener('revoked', () => void revoked())
  source.onerror = () => {
    source.close()
    if (events === source) setTimeout(listen, 2000)
  }
}

async function revoked(): Promise<void> {
  events?.close()
  events = undefined
  await forgetDevice()
  client.device = undefined
  notice = {
    text: 'Your bank revoked this phone. Ask for a new activation code to use it again.',
    error: true,
  }
  notActivated()
}

async function home(): Promise<void> {
  try {
    const me = await client.me()
    if (me.status === 'pending') return codeScreen()
    deviceName = me.name
    for (const a of await client.approvals()) if (!approvals.has(a.id)) approvals.set(a.id, { view: a })
  } catch (err) {
    if (err instanceof ServerError && err.status === 403) return revoked()
    notice = { text: messageOf(err), error: true }
  }
  render()
  if (!events) void listen()
}

/** An instruction from a link or a scanned code, on an activated phone. */
async function follow(kind: 'approval' | 'poi', value: string): Promise<void> {
  try {
    if (kind === 'approval') {
      const view = await client.approval(value)
      // An update (e.g. "now needs the scan") keeps the screen this phone already scanned.
      const before = approvals.get(view.id)
      approvals.set(view.id, { view: { ...view, poi: before?.view.poi }, poiToken: before?.poiToken })
    } else {
      const view = await client.resolveScreen(value)
      approvals.set(view.id, { view, poiToken: value })
    }
  } catch (err) {
    notice = { text: messageOf(err), error: true }
  }
}

async function start(): Promise<void> {
  if ('serviceWorker' in navigator)
    navigator.serviceWorker
      .register('/authenticator/sw.js', { scope: '/authenticator/' })
      .catch(() => undefined)
  const instruction = takeHash()
  client.device = await loadDevice()
  if (instruction?.kind === 'activate') {
    if (client.device) notice = { text: 'This phone is already activated.' }
    else return activationScreen(instruction.value)
  }
  if (!client.device) return notActivated()
  if (instruction && instruction.kind !== 'activate') await follow(instruction.kind, instruction.value)
  await home()
}

window.addEventListener('hashchange', async () => {
  const instruction = takeHash()
  if (!instruction) return
  if (instruction.kind === 'activate' && !client.device) return activationScreen(instruction.value)
  if (client.device && instruction.kind !== 'activate') {
    await follow(instruction.kind, instruction.value)
    render()
  }
})

void start()
