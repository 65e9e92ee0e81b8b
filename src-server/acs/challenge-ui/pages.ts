import type { ChallengeWindowSize } from '../protocol/creq'
import { escapeHtml as e } from './escape'
import { textsFor, type Locale } from './i18n'
import type { ScreenPanel } from '../../auth-methods/method'

/**
 * The browser challenge pages: pure functions returning self-contained HTML (inline CSS, no external
 * assets, no cookies). State lives on the server, keyed by acsTransID and a per-step nonce carried in a
 * hidden field (which is also the CSRF defence in a third-party iframe).
 */
export interface Branding {
  issuerName: string
  /** #rrggbb; anything else falls back to the default. */
  colour?: string
  /** data:image/...;base64 URI; anything else is ignored (no external fetches). */
  logoDataUri?: string
}

export interface StepFields {
  /** Where the page posts (the ACS challenge endpoint). */
  actionUrl: string
  acsTransID: string
  nonce: string
}

export interface PageCommon extends StepFields {
  locale: Locale
  branding: Branding
  windowSize: ChallengeWindowSize
  merchantName?: string
  /** Already formatted for display, e.g. "€25.00". */
  amount?: string
}

export type ChallengeNotice =
  { kind: 'wrong-code'; attemptsLeft: number } | { kind: 'code-resent' } | { kind: 'code-expired' }

export interface OtpPage extends PageCommon {
  /** Masked destination, e.g. "+33 6** ** *78". */
  maskedDestination: string
  notice?: ChallengeNotice
  resendAvailable: boolean
  codeLength?: number
  /** Replaces "We sent a code to …" (a dongle's code is not sent anywhere). */
  instruction?: string
  /** The trust-list offer: a checkbox posted as `trust=Y` with the code. */
  trustOffer?: { label: string; checked: boolean }
}

export interface OobWaitingPage extends PageCommon {
  /** Optional JSON endpoint returning {"done": true} once the reply arrived; the page then continues by itself. */
  pollUrl?: string
  notice?: ChallengeNotice
  /** Replaces the generic "reply to the message" line with the method's own words. */
  instruction?: string
  /** A short reference the cardholder sends back (SMS Push A), shown large. */
  reference?: string
  /** A payment screen's rotating QR code (mobile signature), refreshed by the page itself. */
  screen?: ScreenPanel
}

const WINDOW: Record<ChallengeWindowSize, { width: string; height: string; font: number }> = {
  '01': { width: '250px', height: '400px', font: 13 },
  '02': { width: '390px', height: '400px', font: 14 },
  '03': { width: '500px', height: '600px', font: 16 },
  '04': { width: '600px', height: '400px', font: 15 },
  '05': { width: '100vw', height: '100vh', font: 17 },
}

const DEFAULT_COLOUR = '#1a4b8c'
const COLOUR = /^#[0-9a-fA-F]{6}$/
const LOGO = /^data:image\/(?:png|jpeg|gif|svg\+xml|webp);base64,[A-Za-z0-9+/]+={0,2}$/

function css(size: ChallengeWindowSize, colour: string): string {
  const w = WINDOW[size]
  const compact = size === '01' || size === '02' || size === '04'
  return `*{box-sizing:border-box}
html,body{margin:0;padding:0}
body{font:${w.font}px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1b1b1b;background:#fff}
.frame{width:${w.width};max-width:100vw;height:${w.height};max-height:100vh;overflow:auto;display:flex;flex-direction:column}
header{display:flex;align-items:center;gap:8px;padding:${compact ? '6px 10px' : '12px 16px'};border-bottom:3px solid ${colour}}
header img{max-height:${compact ? 28 : 40}px;max-width:50%}
header .issuer{font-weight:600}
main{padding:${compact ? '8px 10px' : '16px'};flex:1}
h1{font-size:1.15em;margin:0 0 .5em}
p{margin:.4em 0}
.notice{padding:6px 8px;border-left:4px solid #b00020;background:#fdecee;color:#7a0015}
.notice.info{border-color:${colour};background:#eef3fa;color:#1b1b1b}
label{display:block;font-weight:600;margin:.6em 0 .2em}
input[type=text]{width:100%;font-size:1.3em;padding:6px 8px;letter-spacing:.15em;border:2px solid #767676;border-radius:4px}
input[type=text]:focus,input[type=checkbox]:focus,button:focus{outline:3px solid ${colour};outline-offset:2px}
.trust{display:flex;align-items:flex-start;gap:8px;margin-top:.6em}
.trust input{flex:none;width:1.15em;height:1.15em;margin:.15em 0 0;accent-color:${colour}}
.trust label{display:inline;font-weight:400;margin:0}
.actions{display:flex;flex-wrap:wrap;gap:6px;margin-top:.8em}
button{font:inherit;padding:8px 12px;border-radius:4px;border:2px solid ${colour};background:#fff;color:${colour};cursor:pointer;flex:1 1 auto}
button.primary{background:${colour};color:#fff}
.reference{font-size:1.4em;letter-spacing:.12em;font-family:ui-monospace,Menlo,Consolas,monospace}
.screen{margin:.8em 0 0;text-align:center}.screen img{background:#fff;max-width:60vw;height:auto}
${size === '04' ? 'main{display:grid;grid-template-columns:1fr 1fr;column-gap:12px}main>.wide{grid-column:1/-1}' : ''}`
}

function page(
  locale: Locale,
  title: string,
  size: ChallengeWindowSize,
  colour: string,
  body: string,
  script = '',
): string {
  return `<!DOCTYPE html>
<html lang="${locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${e(title)}</title>
<style>${css(size, colour)}</style>
</head>
<body>
${body}${script ? `\n<script>${script}</script>` : ''}
</body>
</html>`
}

function header(b: Branding): string {
  const logo =
    b.logoDataUri && LOGO.test(b.logoDataUri)
      ? `<img src="${e(b.logoDataUri)}" alt="${e(b.issuerName)}">`
      : ''
  return `<header>${logo}<span class="issuer">${e(b.issuerName)}</span></header>`
}

function hiddenStep(f: StepFields): string {
  return `<input type="hidden" name="acsTransID" value="${e(f.acsTransID)}">
<input type="hidden" name="nonce" value="${e(f.nonce)}">`
}

function noticeHtml(locale: Locale, n: ChallengeNotice | undefined): string {
  if (!n) return ''
  const t = textsFor(locale)
  if (n.kind === 'wrong-code')
    return `<p class="notice wide" role="alert">${e(t.wrongCode(n.attemptsLeft))}</p>`
  return `<p class="notice info wide" role="status">${e(n.kind === 'code-resent' ? t.codeResent : t.codeExpired)}</p>`
}

function intro(p: PageCommon): string {
  if (!p.merchantName || !p.amount) return ''
  return `<p class="wide">${e(textsFor(p.locale).intro(p.merchantName, p.amount))}</p>`
}

const colourOf = (b: Branding) => (b.colour && COLOUR.test(b.colour) ? b.colour : DEFAULT_COLOUR)

/** OTP entry (SMS OTP or hardware dongle): one code input, Submit / Resend / Cancel. */
export function renderOtpPage(p: OtpPage): string {
  const t = textsFor(p.locale)
  const digits = p.codeLength ?? 8
  const body = `<div class="frame">
${header(p.branding)}
<main>
<h1 class="wide">${e(t.title)}</h1>
${intro(p)}
<p class="wide">${e(p.instruction ?? t.codeSentTo(p.maskedDestination))}</p>
${noticeHtml(p.locale, p.notice)}
<form method="post" action="${e(p.actionUrl)}" class="wide">
${hiddenStep(p)}
<label for="otp">${e(t.codeLabel)}</label>
<input type="text" id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{4,${digits}}" maxlength="${digits}" required autofocus${p.notice?.kind === 'wrong-code' ? ' aria-invalid="true"' : ''}>
${p.trustOffer ? trustCheckbox(p.trustOffer) : ''}<div class="actions">
<button type="submit" name="action" value="submit" class="primary">${e(t.submit)}</button>
${p.resendAvailable ? `<button type="submit" name="action" value="resend" formnovalidate>${e(t.resend)}</button>\n` : ''}<button type="submit" name="action" value="cancel" formnovalidate>${e(t.cancel)}</button>
</div>
</form>
</main>
</div>`
  return page(p.locale, t.title, p.windowSize, colourOf(p.branding), body)
}

function trustCheckbox(o: { label: string; checked: boolean }): string {
  return `<div class="trust"><input type="checkbox" id="trust" name="trust" value="Y"${o.checked ? ' checked' : ''}><label for="trust">${e(o.label)}</label></div>\n`
}

/** Out-of-band wait (SMS reply, app approval): Continue / Cancel, and an optional status poll. */
export function renderOobWaitingPage(p: OobWaitingPage): string {
  const t = textsFor(p.locale)
  const body = `<div class="frame">
${header(p.branding)}
<main>
<h1 class="wide">${e(t.waitingTitle)}</h1>
${intro(p)}
${p.reference ? `<p class="wide">${e(t.reference)} <strong class="reference">${e(p.reference)}</strong></p>\n` : ''}<p class="wide">${e(p.instruction ?? t.waitingText)}</p>
${noticeHtml(p.locale, p.notice)}
<form method="post" action="${e(p.actionUrl)}" class="wide" id="step">
${hiddenStep(p)}
<div class="actions">
<button type="submit" name="action" value="continue" class="primary" autofocus>${e(t.continue)}</button>
<button type="submit" name="action" value="cancel">${e(t.cancel)}</button>
</div>
</form>
${p.screen ? screenPanel(p.screen) : ''}</main>
</div>`
  // The poll only presses Continue for the cardholder; the server decides, exactly as for a click.
  const script = p.pollUrl
    ? `(function(){var u=${jsString(p.pollUrl)};function t(){fetch(u,{method:'GET',cache:'no-store'}).then(function(r){return r.json()}).then(function(s){if(s&&s.done){var f=document.getElementById('step');var b=f.querySelector('button[value=continue]');f.requestSubmit?f.requestSubmit(b):b.click()}else{setTimeout(t,3000)}}).catch(function(){setTimeout(t,5000)})}setTimeout(t,3000)})();`
    : ''
  return page(
    p.locale,
    t.waitingTitle,
    p.windowSize,
    colourOf(p.branding),
    body,
    script + (p.screen ? screenScript(p.screen.stateUrl) : ''),
  )
}

function screenPanel(s: ScreenPanel): string {
  return `<figure class="wide screen"><img id="screen-qr" alt="${e(s.alt)}" width="180" height="180"><figcaption>${e(s.caption)}</figcaption></figure>\n`
}

/**
 * Shows the screen's current QR code and waits (long poll) for the decision, then presses Continue for the
 * cardholder: the server decides, exactly as for a click.
 */
function screenScript(stateUrl: string): string {
  return `(function(){var u=${jsString(stateUrl)},img=document.getElementById('screen-qr'),f=document.getElementById('step');function go(){var b=f.querySelector('button[value=continue]');f.requestSubmit?f.requestSubmit(b):b.click()}function t(w){fetch(u+(w?'?wait='+w:''),{cache:'no-store'}).then(function(r){if(!r.ok)throw r;return r.json()}).then(function(s){if(s.status!=='pending')return go();if(s.qr){img.src=s.qr.image;img.setAttribute('data-link',s.qr.link)}t(Math.min(s.qr?s.qr.refreshInMs:5000,25000))}).catch(function(){setTimeout(function(){t(0)},3000)})}t(0)})();`
}

/** A string literal safe inside an inline <script> (no closing tags, no line terminators). */
function jsString(s: string): string {
  return JSON.stringify(s)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}

function hiddenFields(fields: Record<string, string | undefined>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<input type="hidden" name="${e(k)}" value="${e(v!)}">`)
    .join('\n')
}

function autoPost(
  locale: Locale,
  title: string,
  action: string,
  fields: Record<string, string | undefined>,
): string {
  const t = textsFor(locale)
  const body = `<form method="post" action="${e(action)}" id="post">
${hiddenFields(fields)}
<p role="status">${e(t.redirecting)}</p>
<noscript><button type="submit">${e(t.continueWithoutScript)}</button></noscript>
</form>`
  return page(locale, title, '05', DEFAULT_COLOUR, body, `document.getElementById('post').submit();`)
}

export interface FinalPage {
  locale: Locale
  notificationURL: string
  /** base64url of the final CRes. */
  cres: string
  /** Posted back unchanged when the requestor sent it. */
  threeDSSessionData?: string
  /** Shown before returning: the page then waits for the cardholder's button instead of posting at once. */
  activation?: ActivationPanel
}

/** The mobile authenticator's activation QR code on the last page of a successful challenge. */
export interface ActivationPanel {
  /** The activation link (also under the image, for a cardholder already on their phone). */
  link: string
  /** The link's QR code as a data URI. */
  image: string
  minutesValid: number
  branding: Branding
  windowSize: ChallengeWindowSize
}

/**
 * The last page: auto-posts `cres` (and threeDSSessionData, unchanged) to the AReq's notificationURL. With an
 * activation panel it shows the QR code and posts the same form when the cardholder presses the button.
 */
export function renderFinalCResPage(p: FinalPage): string {
  const fields = { cres: p.cres, threeDSSessionData: p.threeDSSessionData }
  if (!p.activation) return autoPost(p.locale, textsFor(p.locale).redirecting, p.notificationURL, fields)
  const t = textsFor(p.locale)
  const a = p.activation
  // Small enough for the button to stay in the smaller windows; still scanned easily from a screen.
  const qrSize = a.windowSize === '03' || a.windowSize === '05' ? 160 : 120
  const body = `<div class="frame">
${header(a.branding)}
<main>
<h1 class="wide">${e(t.confirmedTitle)}</h1>
<p class="wide">${e(t.activationOffer)}</p>
<figure class="wide screen"><img src="${e(a.image)}" alt="${e(t.activationQrAlt)}" width="${qrSize}" height="${qrSize}" data-link="${e(a.link)}"><figcaption><a href="${e(a.link)}" target="_blank" rel="noopener noreferrer">${e(t.activationOnThisPhone)}</a></figcaption></figure>
<p class="wide">${e(t.activationNote(a.minutesValid))}</p>
<form method="post" action="${e(p.notificationURL)}" class="wide">
${hiddenFields(fields)}
<div class="actions"><button type="submit" class="primary">${e(t.backToMerchant)}</button></div>
</form>
</main>
</div>`
  return page(p.locale, t.confirmedTitle, a.windowSize, colourOf(a.branding), body)
}

/** 3DS Method: post threeDSMethodData back to the 3DS Server's notification URL right away (it waits ≤ 10 s). */
export function renderMethodResponsePage(p: { notificationURL: string; threeDSMethodData: string }): string {
  return autoPost('en', '3DS Method', p.notificationURL, { threeDSMethodData: p.threeDSMethodData })
}
