import { describe, expect, it } from 'vitest'
import { isEndpointUrl, isIp, isWebUrl, isYyyymmdd } from './formats'

/** What the WHATWG parser (`new URL`) alone says: the oracle for the plain-URL shortcut. */
function parsed(s: string): { protocol: string; hostname: string } | undefined {
  try {
    const u = new URL(s)
    return { protocol: u.protocol, hostname: u.hostname }
  } catch {
    return undefined
  }
}

const SCHEMES = [
  'https://',
  'http://',
  'HTTPS://',
  'https:/',
  'https:///',
  'ftp://',
  ' https://',
  'https:\\\\',
]
const HOSTS = [
  'example.test',
  'a',
  'a.b.c',
  'Ex.Test',
  'ex-ample.test',
  'a-.b',
  'ab--cd.test',
  'xn--abc.test',
  'XN--zz',
  'a.xn--zz',
  'xn--nxasmq6b.test',
  '3ds.example',
  'example.123',
  'example.0x1f',
  '127.0.0.1',
  '127.1',
  '127.0.0.01',
  'localhost',
  'LOCALHOST',
  '[::1]',
  'a..b',
  'a.',
  '',
  'exa mple',
  'a_b.test',
  'user@host',
]
const PORTS = [
  '',
  ':',
  ':0',
  ':443',
  ':8443',
  ':9999',
  ':10000',
  ':43483',
  ':00080',
  ':59999',
  ':64999',
  ':65499',
  ':65529',
  ':65535',
  ':65536',
  ':65540',
  ':65600',
  ':66000',
  ':70000',
  ':99999',
  ':123456',
  ':x',
]
const TAILS = [
  '',
  '/',
  '/a/b?c=d#e',
  '?q',
  '#f',
  '/%zz',
  '/\\x',
  '/ sp',
  '/ü',
  ' ',
  '\t',
  '@evil.test/',
  '\\x',
  '/a\nb',
]

describe('URL checks', () => {
  it('agree with the WHATWG parser on every combination of awkward parts', () => {
    let plain = 0
    for (const scheme of SCHEMES)
      for (const host of HOSTS)
        for (const port of PORTS)
          for (const tail of TAILS) {
            const s = scheme + host + port + tail
            const u = parsed(s)
            const web = u !== undefined && (u.protocol === 'https:' || u.protocol === 'http:')
            const loopback =
              u?.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)
            expect(isWebUrl(s), s).toBe(web)
            expect(isEndpointUrl(s, {}), s).toBe(u?.protocol === 'https:')
            expect(isEndpointUrl(s, { allowHttpLoopback: true }), s).toBe(
              u?.protocol === 'https:' || loopback,
            )
            if (u) plain++
          }
    expect(plain).toBeGreaterThan(5000)
  })
})

/** The calendar as `Date.UTC` has it (years 0–99 read as 1900–1999). */
function dateUtcValid(s: string): boolean {
  const [y, m, d] = [+s.slice(0, 4), +s.slice(4, 6), +s.slice(6, 8)]
  return m >= 1 && m <= 12 && d >= 1 && d <= new Date(Date.UTC(y, m, 0)).getUTCDate()
}

describe('isYyyymmdd', () => {
  it('agrees with Date.UTC on month ends and leap days of every year', () => {
    for (let y = 0; y <= 9999; y++)
      for (let m = 0; m <= 13; m++)
        for (const d of [0, 1, 28, 29, 30, 31, 32]) {
          const s = `${String(y).padStart(4, '0')}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}`
          if (isYyyymmdd(s) !== dateUtcValid(s)) expect(isYyyymmdd(s), s).toBe(dateUtcValid(s))
        }
    expect(isYyyymmdd('20240229')).toBe(true)
    expect(isYyyymmdd('21000229')).toBe(false)
    expect(isYyyymmdd('2024022')).toBe(false)
  })
})

describe('isIp', () => {
  it('takes dotted quads of 0–255 with at most three digits a part, and IPv6-looking text', () => {
    for (const ip of ['1.2.3.4', '255.255.255.255', '01.002.3.4', '::1', 'fe80::1'])
      expect(isIp(ip), ip).toBe(true)
    for (const ip of ['256.0.0.0', '1.2.3', '1.2.3.4.5', '1..3.4', ' 1.2.3.4', '1.2.3.0004', '', 'a.b.c.d'])
      expect(isIp(ip), ip).toBe(false)
  })
})
