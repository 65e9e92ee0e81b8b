import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  analyzeText,
  decodePdu,
  encodeDeliver,
  encodeOutgoingSms,
  encodeStatusReport,
  PduError,
  splitText,
  type DecodedDeliver,
  type DecodedSubmit,
} from '.'
import { packSeptets, textToSeptets, unpackSeptets, septetsToText } from './gsm7'
import { relativeValidityOctet, relativeValiditySeconds } from './time'
import { gammuDecode, gammu, gammuOracleMissing } from './gammu-oracle'

const vectors = JSON.parse(readFileSync('/work/shared/reference/vectors.json', 'utf8')).sms_pdu as Array<{
  inputs: Record<string, string | boolean>
  expected: Record<string, string | number>
}>

const ts = { date: new Date('2024-01-02T03:04:05Z'), offsetMinutes: 60 }
const submit = (hex: string) => decodePdu(hex) as DecodedSubmit
const deliver = (hex: string) => decodePdu(hex) as DecodedDeliver

describe('published vectors (vectors.json → sms_pdu)', () => {
  it('reproduces gammu’s SMS-SUBMIT byte for byte, with the AT+CMGS length', () => {
    const v = vectors.find((x) => x.expected.pdu_hex)!
    const [pdu] = encodeOutgoingSms(
      {
        to: v.inputs.to as string,
        text: v.inputs.text as string,
        smsc: v.inputs.smsc as string,
        statusReport: true,
      },
      { concatReference: 0 },
    )
    expect(pdu.hex).toBe(v.expected.pdu_hex)
    expect(pdu.tpduLength).toBe(v.expected.cmgs_length)
    expect(pdu.hex.slice(16, 18)).toBe(v.expected.first_octet)
  })

  it('packs septets as smstools and gammu do', () => {
    const v = vectors.find((x) => x.expected.packed_hex)!
    const packed = Buffer.from(packSeptets(textToSeptets(v.inputs.text as string)))
      .toString('hex')
      .toUpperCase()
    expect(packed).toBe(v.expected.packed_hex)
    const bytes = Buffer.from(v.expected.packed_hex as string, 'hex')
    expect(septetsToText(unpackSeptets(bytes, (v.inputs.text as string).length))).toBe(v.inputs.text)
  })
})

describe('GSM-7 alphabet', () => {
  it('encodes accented letters and € in GSM-7 instead of falling back to UCS-2', () => {
    expect(analyzeText('é è ü ß Ä Ç £ ¥ § à').encoding).toBe('gsm7')
    expect(analyzeText('€').units).toBe(2)
    expect(septetsToText([0x5f])).toBe('§')
  })

  it('round-trips every default and extension character', () => {
    const all =
      '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCXYZÄÖÑÜ§¿abcxyzäöñüà{}[]~\\|^€\f'
    const [pdu] = encodeOutgoingSms({ to: '+49170', text: all }, { concatReference: 1 })
    expect(submit(pdu.hex).userData.text).toBe(all)
  })
})

describe('splitting and counting', () => {
  it('counts segments for GSM-7 and UCS-2 at the boundaries', () => {
    expect(analyzeText('a'.repeat(160))).toMatchObject({ encoding: 'gsm7', segments: 1 })
    expect(analyzeText('a'.repeat(161))).toMatchObject({
      encoding: 'gsm7',
      segments: 2,
      unitsPerSegment: 153,
    })
    expect(analyzeText('a'.repeat(306)).segments).toBe(2)
    expect(analyzeText('a'.repeat(307)).segments).toBe(3)
    expect(analyzeText('a'.repeat(305), { referenceBits: 16 }).segments).toBe(3)
    expect(analyzeText('ж'.repeat(70))).toMatchObject({ encoding: 'ucs2', segments: 1 })
    expect(analyzeText('ж'.repeat(71))).toMatchObject({ segments: 2, unitsPerSegment: 67 })
    expect(analyzeText('😀'.repeat(35))).toMatchObject({ units: 70, segments: 1 })
  })

  it('never splits an escape sequence or a surrogate pair', () => {
    const gsm = splitText('a'.repeat(152) + '€' + 'b'.repeat(10))
    expect(gsm.parts[0]).toBe('a'.repeat(152))
    const ucs = splitText('x'.repeat(66) + '😀' + 'y'.repeat(10))
    expect(ucs.parts[0]).toBe('x'.repeat(66))
    expect(ucs.parts[1].startsWith('😀')).toBe(true)
  })

  it('refuses a text that needs more than 255 parts', () => {
    expect(() => analyzeText('a'.repeat(153 * 255 + 1))).toThrow(PduError)
  })
})

describe('SMS-SUBMIT / DELIVER / STATUS-REPORT round trips', () => {
  it('carries 8- and 16-bit concatenation references', () => {
    for (const referenceBits of [8, 16] as const) {
      const pdus = encodeOutgoingSms(
        { to: '+491234567890', text: 'z'.repeat(400), referenceBits },
        { concatReference: 0x1234 },
      )
      expect(pdus).toHaveLength(3)
      const decoded = pdus.map((p) => submit(p.hex).userData)
      expect(decoded.map((d) => d.concat?.sequence)).toEqual([1, 2, 3])
      expect(decoded[0].concat).toMatchObject({
        total: 3,
        referenceBits,
        reference: referenceBits === 8 ? 0x34 : 0x1234,
      })
      expect(decoded.map((d) => d.text).join('')).toBe('z'.repeat(400))
    }
  })

  it('encodes validity periods, rounding up', () => {
    expect(relativeValidityOctet(300)).toBe(0)
    expect(relativeValidityOctet(301)).toBe(1)
    expect(relativeValidityOctet(12 * 3600)).toBe(143)
    expect(relativeValidityOctet(24 * 3600)).toBe(167)
    expect(relativeValidityOctet(2 * 86400)).toBe(168)
    for (const vp of [0, 143, 144, 167, 168, 196, 197, 255]) {
      expect(relativeValidityOctet(relativeValiditySeconds(vp))).toBe(vp)
    }
    const [abs] = encodeOutgoingSms(
      { to: '+4917', text: 'x', validity: { absolute: ts } },
      { concatReference: 0 },
    )
    expect(submit(abs.hex).validity).toEqual({ absolute: ts })
    const [none] = encodeOutgoingSms({ to: '+4917', text: 'x', validity: 'none' }, { concatReference: 0 })
    expect(submit(none.hex).validity).toBe('none')
  })

  it('handles international, national and alphanumeric addresses', () => {
    const [intl] = encodeOutgoingSms({ to: '+491234567890', text: 'x' }, { concatReference: 0 })
    expect(submit(intl.hex).destination).toEqual({ type: 'international', value: '+491234567890' })
    const [nat] = encodeOutgoingSms(
      { to: '01701234567', toType: 'national', text: 'x' },
      { concatReference: 0 },
    )
    expect(submit(nat.hex).destination).toEqual({ type: 'national', value: '01701234567' })
    const alpha = encodeDeliver({
      originator: { type: 'alphanumeric', value: 'MyBank' },
      coding: { encoding: 'gsm7' },
      timestamp: ts,
      userData: { encoding: 'gsm7', text: 'hi' },
    })
    expect(deliver(alpha.hex).originator).toEqual({ type: 'alphanumeric', value: 'MyBank' })
  })

  it('decodes a DELIVER with its timestamp and a negative time zone', () => {
    const t = { date: new Date('2023-12-31T23:59:59Z'), offsetMinutes: -210 }
    const d = encodeDeliver({
      smsc: '+4917',
      originator: { type: 'international', value: '+15551234' },
      coding: { encoding: 'ucs2' },
      timestamp: t,
      userData: { encoding: 'ucs2', text: 'Ваш код 😀' },
    })
    const back = deliver(d.hex)
    expect(back.timestamp).toEqual(t)
    expect(back.userData.text).toBe('Ваш код 😀')
  })

  it('decodes status reports and ignores trailing padding', () => {
    const sr = encodeStatusReport({
      messageReference: 7,
      recipient: { type: 'international', value: '+491234567890' },
      serviceCentreTimestamp: ts,
      dischargeTime: ts,
      status: 0x45,
    })
    const padded = sr.hex + '00'.repeat(150)
    const back = decodePdu(padded)
    expect(back).toMatchObject({
      type: 'status-report',
      messageReference: 7,
      status: 0x45,
      outcome: 'failed',
    })
  })
})

describe('untrusted input', () => {
  const good = encodeDeliver({
    originator: { type: 'international', value: '+4917' },
    coding: { encoding: 'gsm7' },
    timestamp: ts,
    userData: { encoding: 'gsm7', text: 'hello world' },
  }).hex

  it('rejects every truncation with a PduError, never a crash', () => {
    for (let cut = 0; cut < good.length; cut += 2) {
      expect(() => decodePdu(good.slice(0, cut)), `cut at ${cut}`).toThrow(PduError)
    }
    expect(() => decodePdu('zz')).toThrow(PduError)
    expect(() => decodePdu('123')).toThrow(PduError)
  })

  it('survives random bytes (fuzz): only PduError or a decoded PDU', () => {
    let seed = 42
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
    const base = Buffer.from(good, 'hex')
    for (let i = 0; i < 5000; i++) {
      const b = Buffer.from(base)
      for (let k = 0; k < 3; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256)
      const hex = b.subarray(0, Math.floor(rnd() * b.length) + 1).toString('hex')
      try {
        decodePdu(hex)
      } catch (err) {
        expect(err).toBeInstanceOf(PduError)
      }
    }
  })
})

const oracleMissing = gammuOracleMissing()

describe.skipIf(oracleMissing)(
  `python3-gammu cross-checks${oracleMissing ? ` (skipped: ${oracleMissing})` : ''}`,
  () => {
    it('gammu decodes our GSM-7 SUBMIT with extension characters', () => {
      const text = 'Code {123} [ok] ~ | ^ € \\ end'
      const [pdu] = encodeOutgoingSms(
        { to: '+491234567890', text, smsc: '+491700000000' },
        { concatReference: 0 },
      )
      const { messages, linked } = gammuDecode([pdu.hex])
      expect(messages[0]).toMatchObject({
        type: 'Submit',
        number: '+491234567890',
        coding: 'Default_No_Compression',
      })
      expect(linked[0]).toBe(text)
    })

    it('gammu decodes our UCS-2 SUBMIT with emoji (surrogate pairs)', () => {
      const text = 'Ваш код 123456 😀👍🏽'
      const [pdu] = encodeOutgoingSms(
        { to: '+491234567890', text, smsc: '+491700000000' },
        { concatReference: 0 },
      )
      const { messages, linked } = gammuDecode([pdu.hex])
      expect(messages[0].coding).toBe('Unicode_No_Compression')
      expect(linked[0]).toBe(text)
    })

    it('gammu reassembles our three-part concatenated SUBMIT (8- and 16-bit references)', () => {
      for (const referenceBits of [8, 16] as const) {
        const text = 'Ваш код 123456. '.repeat(12)
        const pdus = encodeOutgoingSms(
          { to: '+491234567890', text, smsc: '+491700000000', referenceBits },
          { concatReference: 0x2a },
        )
        expect(pdus).toHaveLength(3)
        const { messages, linked } = gammuDecode(pdus.map((p) => p.hex).reverse())
        expect(messages.map((m) => m.parts)).toEqual([3, 3, 3])
        expect(messages[0].udh_type).toBe(
          referenceBits === 8 ? 'ConcatenatedMessages' : 'ConcatenatedMessages16bit',
        )
        expect(linked).toEqual([text])
      }
    })

    it('gammu reads our status report and DELIVER', () => {
      const sr = encodeStatusReport({
        smsc: '+491700000000',
        messageReference: 42,
        recipient: { type: 'international', value: '+491234567890' },
        serviceCentreTimestamp: ts,
        dischargeTime: ts,
        status: 0,
      })
      const d = encodeDeliver({
        smsc: '+491700000000',
        originator: { type: 'alphanumeric', value: 'MyBank' },
        coding: { encoding: 'gsm7' },
        timestamp: ts,
        userData: { encoding: 'gsm7', text: 'Ext {}[]~\\|^€ ok' },
      })
      const { messages } = gammuDecode([sr.hex, d.hex])
      expect(messages[0]).toMatchObject({
        type: 'Status_Report',
        reference: 42,
        delivery_status: 0,
        number: '+491234567890',
        DateTime: '2024-01-02T04:04:05',
      })
      expect(messages[1]).toMatchObject({ type: 'Deliver', number: 'MyBank', text: 'Ext {}[]~\\|^€ ok' })
    })

    it('we decode gammu’s DELIVER PDUs (multipart UCS-2 and GSM-7 with extension characters)', () => {
      for (const [text, unicode] of [
        ['Ваш код 123456. '.repeat(6), true],
        ['Braces {} and € '.repeat(12), false],
      ] as const) {
        const { pdus } = gammu<{ pdus: string[] }>({
          op: 'encode_deliver',
          text,
          number: '+491234567890',
          unicode,
          datetime: '2024-01-02T03:04:05',
        })
        expect(pdus.length).toBeGreaterThan(1)
        const decoded = pdus.map((h) => deliver(h))
        expect(decoded[0].originator.value).toBe('+491234567890')
        expect(decoded[0].smsc).toBe('+491700000000')
        expect(decoded.map((d) => d.userData.text).join('')).toBe(text)
      }
    })

    it('gammu decodes our SUBMIT for random GSM-7 and UCS-2 texts (property check)', () => {
      const gsmChars = [...'abcXYZ 0123 {}[]€@£éüß\nΔ_|^~']
      const ucsChars = [...'жЖ€😀 ab1']
      let seed = 7
      const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n
      const texts = Array.from({ length: 40 }, (_, i) => {
        const chars = i % 2 ? ucsChars : gsmChars
        return Array.from({ length: 1 + rnd(60) }, () => chars[rnd(chars.length)]).join('')
      })
      const pdus = texts.map(
        (text) =>
          encodeOutgoingSms({ to: '+491234567890', text, smsc: '+491700000000' }, { concatReference: 0 })[0]
            .hex,
      )
      const { messages } = gammuDecode(pdus)
      expect(messages.map((m) => m.text)).toEqual(texts)
    })
  },
)
