import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadVectors } from '../fixtures/vectors'
import { cvvCore, decimalise } from './cvv'
import { eciFor, type Brand, type EciStatus } from './eci'
import {
  codedAmount,
  goCavvIavMacInput,
  mastercardSpa2DsTransIdGenerator,
  mastercardSpa2GoCavvGenerator,
} from './mastercard-spa2'
import { generatorForPan, type AuthValueInput } from './strategy'
import { visaCavvBytes, visaCavvGenerator } from './visa-cavv'

const vectors = loadVectors()
const hex = (s: string) => Buffer.from(s, 'hex')

describe('CVV core (vectors.json → cvv)', () => {
  for (const v of vectors.cvv) {
    it(v.inputs.pan as string, () => {
      const i = v.inputs as Record<string, string>
      expect(cvvCore(i.pan, i.expiry_yymm, i.service_code, hex(i.cvk_a_hex), hex(i.cvk_b_hex))).toBe(
        v.expected.cvv,
      )
    })
  }
  it('decimalises digits first, then letters', () => {
    expect(decimalise(Buffer.from('A1B2C3', 'hex'))).toBe('123012')
    expect(decimalise(Buffer.from('A1B2C3', 'hex'), 4)).toBe('1230')
    expect(decimalise(Buffer.from('FEDCBA98', 'hex'))).toBe('98543210')
  })
})

const VISA_INPUT: AuthValueInput = {
  pan: '4123456789012345',
  transStatus: 'Y',
  messageCategory: '01',
  method: 'sms-otp',
  dsTransID: 'b7b2a4b4-8d4e-4c37-9f8b-0f5d2d3c6a11',
  atn: '0000000000008701',
}
const CVK = { a: hex('0123456789ABCDEF'), b: hex('FEDCBA9876543210') }

describe('Visa CAVV (usage 3)', () => {
  it('lays out results code, second factor, key indicator, CVV output, ATN and zero IP', () => {
    const bytes = visaCavvBytes(VISA_INPUT, { keyIndicator: '01', keys: () => CVK })
    expect(bytes).toHaveLength(20)
    const h = bytes.toString('hex')
    expect(h.slice(0, 6)).toBe('000201') // Y → 0, SMS OTP → 02, key indicator 01
    expect(h.slice(10, 14)).toBe('8701')
    expect(h.slice(14, 30)).toBe('0000000000008701')
    expect(h.slice(32)).toBe('00000000')
    // The CVV field is the CVV core over PAN ‖ last 4 ATN ‖ results code ‖ second factor.
    expect(h.slice(6, 10)).toBe('0' + cvvCore(VISA_INPUT.pan, '8701', '002', CVK.a, CVK.b))
  })

  it.skipIf(!existsSync('/usr/bin/python3'))(
    'CVV output agrees with python3-cryptography (TDES K|K|K)',
    () => {
      const py = execFileSync('/usr/bin/python3', [
        '-c',
        `import sys
from cryptography.hazmat.primitives.ciphers import Cipher, modes
try:
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES
def e(k,b): c=Cipher(TripleDES(k*3),modes.ECB()).encryptor(); return c.update(b)+c.finalize()
def d(k,b): c=Cipher(TripleDES(k*3),modes.ECB()).decryptor(); return c.update(b)+c.finalize()
ka,kb=bytes.fromhex('0123456789ABCDEF'),bytes.fromhex('FEDCBA9876543210')
data=(sys.argv[1]).ljust(32,'0'); b1,b2=bytes.fromhex(data[:16]),bytes.fromhex(data[16:])
r=e(ka,b1); r=bytes(x^y for x,y in zip(r,b2)); r=e(ka,d(kb,e(ka,r))).hex().upper()
print((''.join(c for c in r if c.isdigit())+''.join(str(ord(c)-65) for c in r if c.isalpha()))[:3])`,
        '4123456789012345' + '8701' + '002',
      ])
      expect(cvvCore(VISA_INPUT.pan, '8701', '002', CVK.a, CVK.b)).toBe(py.toString().trim())
    },
  )

  it('generator yields 28 base64 characters and the Visa ECI', () => {
    const g = visaCavvGenerator({
      keyIndicator: '02',
      keys: (ki) => (ki === '02' ? CVK : { a: hex('1111111111111111'), b: hex('2222222222222222') }),
    })
    const v = g.generate({ ...VISA_INPUT, transStatus: 'A', method: 'attempts' })
    expect(v.authenticationValue).toMatch(/^[A-Za-z0-9+/]{27}=$/)
    expect(v.eci).toBe('06')
    expect(Buffer.from(v.authenticationValue, 'base64').subarray(0, 3).toString('hex')).toBe('079802')
  })
})

describe('Mastercard SPA2 IAV (vectors.json → mastercard_iav)', () => {
  for (const v of vectors.mastercard_iav) {
    const i = v.inputs as Record<string, string | number>
    const input: AuthValueInput = {
      pan: i.pan as string,
      merchantName: i.merchant_name as string,
      purchaseAmount: String(i.amount_minor),
      purchaseCurrency: i.currency as string,
      transStatus: 'Y',
      messageCategory: '01',
      method: 'sms-otp',
      dsTransID: 'b7b2a4b4-8d4e-4c37-9f8b-0f5d2d3c6a11',
    }
    const dsn = parseInt(i.ds_sequence_number_hex as string, 16)
    it('MAC input, IAV and AAV', () => {
      expect(goCavvIavMacInput(input, dsn).toString('hex').toUpperCase()).toBe(v.expected.mac_input_hex)
      const g = mastercardSpa2GoCavvGenerator({
        key: hex(i.iav_key_hex as string),
        sequenceNumber: () => dsn,
      })
      const out = g.generate(input)
      expect(out.authenticationValue).toBe(v.expected.aav_base64)
      expect(Buffer.from(out.authenticationValue, 'base64').subarray(2, 6).toString('hex')).toBe(
        v.expected.iav_hex,
      )
      expect(out.eci).toBe('02')
    })
  }
  it('codes amounts explicitly up to 14000 and on a log scale above', () => {
    expect(codedAmount(14000)).toBe(14000)
    expect(codedAmount(123456)).toBe(0x4f24)
  })
  it('the dsTransID variant is a different, deterministic strategy', () => {
    const key = hex('B039878C1F96D212F509B2DC4CC8CD1B')
    const input = { ...VISA_INPUT, pan: '5555555555554444' }
    const a = mastercardSpa2DsTransIdGenerator({ key }).generate(input)
    expect(a.authenticationValue).toHaveLength(28)
    expect(Buffer.from(a.authenticationValue, 'base64').subarray(0, 2).toString('hex')).toBe('c604')
    expect(mastercardSpa2DsTransIdGenerator({ key }).generate(input)).toEqual(a)
  })
})

describe('ECI (vectors.json → eci)', () => {
  for (const v of vectors.eci) {
    const brand: Brand = v.inputs.brand === 'mastercard' ? 'mastercard' : 'visa'
    const category = String(v.inputs.messageCategory ?? '01').slice(0, 2)
    it(v.description, () => {
      for (const [statuses, eci] of Object.entries(v.expected)) {
        for (const s of statuses.split('/') as EciStatus[]) expect(eciFor(brand, s, category)).toBe(eci)
      }
    })
  }
  it('other visa-like brands share the Visa table; Mastercard NPA has no attempts ECI', () => {
    for (const b of ['amex', 'discover', 'jcb'] as const) expect(eciFor(b, 'Y', '01')).toBe('05')
    expect(eciFor('mastercard', 'A', '02')).toBeUndefined()
  })
})

describe('generator per card range', () => {
  it('picks the most specific range', () => {
    const visa = visaCavvGenerator({ keyIndicator: '01', keys: () => CVK })
    const mc = mastercardSpa2GoCavvGenerator({ key: hex('00'.repeat(16)) })
    const special = mastercardSpa2DsTransIdGenerator({ key: hex('00'.repeat(16)) })
    const ranges = [
      { low: '4', high: '4', generator: visa },
      { low: '51', high: '55', generator: mc },
      { low: '555555', high: '555555', generator: special },
    ]
    expect(generatorForPan(ranges, '4111111111111111')?.name).toBe('visa-cavv-usage3')
    expect(generatorForPan(ranges, '5212345678901234')?.name).toBe('mastercard-spa2-iav-go-cavv')
    expect(generatorForPan(ranges, '5555555555554444')?.name).toBe('mastercard-spa2-iav-dstransid')
    expect(generatorForPan(ranges, '6011000000000004')).toBeUndefined()
  })
})
