import { Window } from 'happy-dom'
import { describe, expect, it } from 'vitest'
import { parseThreeDSMethodData } from '../protocol/method'
import { escapeHtml } from './escape'
import { localeFor, trustOfferText } from './i18n'
import {
  renderFinalCResPage,
  renderMethodResponsePage,
  renderOobWaitingPage,
  renderOtpPage,
  type OtpPage,
} from './pages'

function dom(html: string) {
  const w = new Window()
  w.document.write(html)
  return w.document
}

const otp = (over: Partial<OtpPage> = {}): OtpPage => ({
  locale: 'en',
  branding: { issuerName: 'Banque Démo', colour: '#006a4e' },
  windowSize: '03',
  actionUrl: 'https://acs.example.test/acs/v2/challenge',
  acsTransID: '3c8b7a1e-6c2f-4a52-9a0c-1b2e3d4f5a6b',
  nonce: 'n-123',
  merchantName: 'Test Merchant',
  amount: '€25.00',
  maskedDestination: '+33 6** ** *78',
  resendAvailable: true,
  ...over,
})

describe('OTP page', () => {
  it('is self-contained, labelled, localised and carries acsTransID + nonce', () => {
    const html = renderOtpPage(otp())
    expect(html).not.toMatch(/<link|<script|src="http|url\(http|cookie/i)
    const d = dom(html)
    expect(d.documentElement.getAttribute('lang')).toBe('en')
    const input = d.querySelector('input#otp')!
    expect(d.querySelector('label[for=otp]')?.textContent).toBe('One-time code')
    expect(input.hasAttribute('autofocus')).toBe(true)
    expect(d.querySelectorAll('input[type=text]')).toHaveLength(1)
    expect([...d.querySelectorAll('button')].map((b) => [b.getAttribute('value'), b.textContent])).toEqual([
      ['submit', 'Submit'],
      ['resend', 'Resend code'],
      ['cancel', 'Cancel'],
    ])
    expect(d.querySelector('input[name=acsTransID]')?.getAttribute('value')).toBe(
      '3c8b7a1e-6c2f-4a52-9a0c-1b2e3d4f5a6b',
    )
    expect(d.querySelector('input[name=nonce]')?.getAttribute('value')).toBe('n-123')
    expect(d.querySelector('form')?.getAttribute('action')).toBe('https://acs.example.test/acs/v2/challenge')
  })

  it.each([
    ['fr-FR', 'fr', 'Valider'],
    ['de', 'de', 'Bestätigen'],
    ['es-ES', 'en', 'Submit'],
    [undefined, 'en', 'Submit'],
  ] as const)('browserLanguage %s → %s', (lang, locale, submit) => {
    expect(localeFor(lang)).toBe(locale)
    const d = dom(renderOtpPage(otp({ locale: localeFor(lang) })))
    expect(d.documentElement.getAttribute('lang')).toBe(locale)
    expect(d.querySelector('button[value=submit]')?.textContent).toBe(submit)
  })

  it.each([
    ['01', '250px', '400px'],
    ['02', '390px', '400px'],
    ['03', '500px', '600px'],
    ['04', '600px', '400px'],
    ['05', '100vw', '100vh'],
  ] as const)('window size %s lays out at %s × %s', (size, w, h) => {
    const html = renderOtpPage(otp({ windowSize: size }))
    expect(html).toContain(`.frame{width:${w};max-width:100vw;height:${h}`)
  })

  it('shows attempts left, resent and expired notices, and hides Resend when unavailable', () => {
    const d = dom(
      renderOtpPage(
        otp({ notice: { kind: 'wrong-code', attemptsLeft: 2 }, resendAvailable: false, locale: 'fr' }),
      ),
    )
    expect(d.querySelector('[role=alert]')?.textContent).toBe('Code incorrect. Il reste 2 essais.')
    expect(d.querySelector('input#otp')?.getAttribute('aria-invalid')).toBe('true')
    expect(d.querySelector('button[value=resend]')).toBeNull()
    expect(renderOtpPage(otp({ notice: { kind: 'code-resent' } }))).toContain('A new code has been sent.')
    expect(renderOtpPage(otp({ locale: 'de', notice: { kind: 'code-expired' } }))).toContain(
      'Der Code ist abgelaufen.',
    )
  })

  it('escapes every interpolated value and ignores unsafe branding', () => {
    const evil = '"><script>alert(1)</script>'
    const html = renderOtpPage(
      otp({
        merchantName: evil,
        branding: {
          issuerName: evil,
          colour: 'red;}</style><script>',
          logoDataUri: 'https://evil.test/x.png',
        },
        nonce: evil,
        actionUrl: `https://a.test/?q=${evil}`,
      }),
    )
    expect(html).not.toContain('<script>alert(1)</script>')
    expect(html).not.toContain('evil.test')
    expect(html).toContain('#1a4b8c')
    const d = dom(html)
    expect(d.querySelector('input[name=nonce]')?.getAttribute('value')).toBe(evil)
    expect(escapeHtml(`<a href="x">'&`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;')
  })

  it('offers the trust list as a labelled checkbox in the code form, keeping the choice; none unless offered', () => {
    expect(dom(renderOtpPage(otp())).querySelector('input[type=checkbox]')).toBeNull()
    const label = trustOfferText('en', 'Test <Merchant>')
    expect(label).toBe('Trust Test <Merchant> — skip the code next time')
    for (const checked of [false, true]) {
      const d = dom(renderOtpPage(otp({ trustOffer: { label, checked } })))
      const box = d.querySelector('form input[type=checkbox]#trust')!
      expect([box.getAttribute('name'), box.getAttribute('value'), box.hasAttribute('checked')]).toEqual([
        'trust',
        'Y',
        checked,
      ])
      expect(d.querySelector('label[for=trust]')?.textContent).toBe(label)
      // Still exactly one text input: the checkbox is not a second code field.
      expect(d.querySelectorAll('input[type=text]')).toHaveLength(1)
    }
    expect(renderOtpPage(otp({ trustOffer: { label, checked: false } }))).toContain('Test &lt;Merchant&gt;')
  })

  it('the trust-list text is localised and drops the name when it must fit a length (the SDK’s 64)', () => {
    expect(trustOfferText('fr', 'Boulangerie')).toBe(
      'Faire confiance à Boulangerie — sans code la prochaine fois',
    )
    expect(trustOfferText('de', 'Bäckerei')).toBe('Bäckerei vertrauen – nächstes Mal ohne Code')
    const long = 'A Merchant With A Rather Long Trading Name'
    for (const locale of ['en', 'fr', 'de'] as const) {
      const fitted = trustOfferText(locale, long, 64)
      expect(fitted.length).toBeLessThanOrEqual(64)
      expect(fitted).not.toContain(long)
    }
    expect(trustOfferText('en', 'Shop', 64)).toBe('Trust Shop — skip the code next time')
  })

  it('shows a data-URI logo', () => {
    const logo = 'data:image/png;base64,iVBORw0KGgo='
    expect(
      dom(renderOtpPage(otp({ branding: { issuerName: 'B', logoDataUri: logo } })))
        .querySelector('header img')
        ?.getAttribute('src'),
    ).toBe(logo)
  })
})

describe('OOB waiting page', () => {
  it('has Continue and Cancel, and only polls when asked', () => {
    const plain = renderOobWaitingPage({ ...otp(), locale: 'de' })
    expect(plain).not.toContain('<script')
    const d = dom(plain)
    expect(d.querySelector('h1')?.textContent).toBe('Warten auf Ihre Antwort')
    expect([...d.querySelectorAll('button')].map((b) => b.getAttribute('value'))).toEqual([
      'continue',
      'cancel',
    ])
    const polled = renderOobWaitingPage({
      ...otp(),
      pollUrl: 'https://acs.example.test/acs/v2/challenge/status?t=</script>',
    })
    expect(polled).toContain('<script>')
    expect(polled).not.toContain('t=</script>')
  })
})

describe('auto-posting pages', () => {
  it('final page posts cres and threeDSSessionData unchanged to the notificationURL', () => {
    const session = 'opaque"&<state>\u00e9=='
    const html = renderFinalCResPage({
      locale: 'en',
      notificationURL: 'https://merchant.example.test/notify',
      cres: 'eyJhIjoiYiJ9',
      threeDSSessionData: session,
    })
    const d = dom(html)
    const form = d.querySelector('form')!
    expect(form.getAttribute('method')).toBe('post')
    expect(form.getAttribute('action')).toBe('https://merchant.example.test/notify')
    expect(d.querySelector('input[name=cres]')?.getAttribute('value')).toBe('eyJhIjoiYiJ9')
    expect(d.querySelector('input[name=threeDSSessionData]')?.getAttribute('value')).toBe(session)
    expect(html).toContain(`document.getElementById('post').submit();`)
    expect(d.querySelector('noscript')).not.toBeNull()
    expect(
      renderFinalCResPage({ locale: 'en', notificationURL: 'https://m.test/', cres: 'x' }),
    ).not.toContain('threeDSSessionData')
  })

  it('3DS Method page posts threeDSMethodData back', () => {
    const data = Buffer.from(
      JSON.stringify({
        threeDSServerTransID: '8a880dc0-d2d2-4067-bcb1-b08d1690b26e',
        threeDSMethodNotificationURL: 'https://3ds.example.test/method-notify',
      }),
    ).toString('base64url')
    const parsed = parseThreeDSMethodData(data)
    expect(parsed.ok).toBe(true)
    if (!parsed.ok) return
    const d = dom(
      renderMethodResponsePage({
        notificationURL: parsed.data.threeDSMethodNotificationURL,
        threeDSMethodData: data,
      }),
    )
    expect(d.querySelector('form')?.getAttribute('action')).toBe('https://3ds.example.test/method-notify')
    expect(d.querySelector('input[name=threeDSMethodData]')?.getAttribute('value')).toBe(data)
    expect(parseThreeDSMethodData('!!!')).toEqual({
      ok: false,
      problem: 'threeDSMethodData is not base64url',
    })
    const http = Buffer.from(
      JSON.stringify({
        threeDSServerTransID: '8a880dc0-d2d2-4067-bcb1-b08d1690b26e',
        threeDSMethodNotificationURL: 'http://127.0.0.1:8080/n',
      }),
    ).toString('base64url')
    expect(parseThreeDSMethodData(http).ok).toBe(false)
    expect(parseThreeDSMethodData(http, { allowHttpLoopback: true }).ok).toBe(true)
  })
})
