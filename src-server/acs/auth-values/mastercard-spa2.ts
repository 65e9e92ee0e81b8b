import { createHash, createHmac } from 'node:crypto'
import { eciFor } from './eci'
import type { AuthValueGenerator, AuthValueInput } from './strategy'

/**
 * Mastercard SPA2 AAV with an issuer IAV. Public implementations disagree on the IAV inputs (the real
 * set is in Mastercard's customer-only document), so both known variants are strategies; the AAV packing
 * is the same: C6 04 ‖ IAV (4 bytes) ‖ 15 zero bytes = 21 bytes = 28 base64 characters.
 */
const AMOUNT_MAX_EXPLICIT = 14000

/** PAN as hex, right-padded with F to `nibbles`. */
function panF(pan: string, nibbles: number): Buffer {
  if (!/^\d{12,19}$/.test(pan)) throw new RangeError('PAN must be 12–19 digits')
  return Buffer.from(pan.padEnd(nibbles, 'F'), 'hex')
}

/** 2-byte amount: explicit up to 14000 minor units, log scale above (go-cavv codingAmountSPA2). */
export function codedAmount(minorUnits: number): number {
  const v = minorUnits > AMOUNT_MAX_EXPLICIT ? Math.log10(minorUnits / 100) * 6553.6 : minorUnits
  return Math.trunc(v) & 0xffff
}

function packAav(iav: Buffer): string {
  return Buffer.concat([Buffer.from([0xc6, 0x04]), iav.subarray(0, 4), Buffer.alloc(15)]).toString('base64')
}

export interface Spa2Config {
  /** IAV key for the BIN and key indicator (from the keystore). */
  key: Uint8Array
  /** DS sequence number for the go-cavv variant; defaults to the first 4 bytes of dsTransID. */
  sequenceNumber?: (input: AuthValueInput) => number
}

/** go-cavv `mcard_iav.go` MAC input: PAN‖F (10 bytes) ‖ SHA-256(merchant)[0..4] ‖ coded amount ‖ currency BCD ‖ DSN. */
export function goCavvIavMacInput(input: AuthValueInput, sequenceNumber: number): Buffer {
  const amount = Buffer.alloc(2)
  amount.writeUInt16BE(codedAmount(Number(input.purchaseAmount ?? '0')))
  const dsn = Buffer.alloc(4)
  dsn.writeUInt32BE(sequenceNumber >>> 0)
  const currency = (input.purchaseCurrency ?? '000').padStart(4, '0')
  return Buffer.concat([
    panF(input.pan, 20),
    createHash('sha256')
      .update(input.merchantName ?? '', 'utf8')
      .digest()
      .subarray(0, 4),
    amount,
    Buffer.from(currency, 'hex'),
    dsn,
  ])
}

const dsTransIdSequence = (input: AuthValueInput) =>
  parseInt(input.dsTransID.replace(/-/g, '').slice(0, 8), 16)

export function mastercardSpa2GoCavvGenerator(config: Spa2Config): AuthValueGenerator {
  return {
    name: 'mastercard-spa2-iav-go-cavv',
    brand: 'mastercard',
    generate: (input) => {
      const mac = goCavvIavMacInput(input, (config.sequenceNumber ?? dsTransIdSequence)(input))
      return {
        authenticationValue: packAav(createHmac('sha256', config.key).update(mac).digest()),
        eci: eciFor('mastercard', input.transStatus, input.messageCategory),
      }
    },
  }
}

/** card-auth-server variant: HMAC-SHA256(key, PAN‖F to 20 hex ‖ dsTransID hex). */
export function mastercardSpa2DsTransIdGenerator(config: Pick<Spa2Config, 'key'>): AuthValueGenerator {
  return {
    name: 'mastercard-spa2-iav-dstransid',
    brand: 'mastercard',
    generate: (input) => {
      const mac = Buffer.concat([panF(input.pan, 20), Buffer.from(input.dsTransID.replace(/-/g, ''), 'hex')])
      return {
        authenticationValue: packAav(createHmac('sha256', config.key).update(mac).digest()),
        eci: eciFor('mastercard', input.transStatus, input.messageCategory),
      }
    },
  }
}
