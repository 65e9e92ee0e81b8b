import { randomBytes } from 'node:crypto'
import type { SeedRecord } from '../import-report'
import { AES128_CBC, HMAC_SHA1, PBKDF2, deriveKey, encryptCbc, mac } from './crypto'

export interface PskcExportOptions {
  password: string
  /** PBKDF2 iterations; python-pskc's csv2pskc uses 100,000 too. */
  iterations?: number
  /** Shown to whoever imports the file, to say which password to use. Never the password itself. */
  passwordName?: string
}

const MIN_PASSWORD_CHARS = 8
const ALGORITHM_URN = {
  hotp: 'urn:ietf:params:xml:ns:keyprov:pskc:hotp',
  totp: 'urn:ietf:params:xml:ns:keyprov:pskc:totp',
}

/**
 * Writes seeds as an encrypted PSKC backup (RFC 6030 §6.2): a PBKDF2-derived AES-128 key encrypts every secret
 * (AES-128-CBC, random IV) and a random HMAC-SHA1 key, which MACs each ciphertext. Yields the document in pieces
 * so 100,000 tokens never sit in memory as one string.
 */
export function* exportPskcChunks(
  seeds: Iterable<SeedRecord>,
  options: PskcExportOptions,
): Generator<string> {
  if (options.password.length < MIN_PASSWORD_CHARS) {
    throw new RangeError(`the backup password needs at least ${MIN_PASSWORD_CHARS} characters`)
  }
  const iterations = options.iterations ?? 100_000
  const salt = randomBytes(16)
  const encryptionKey = deriveKey(options.password, salt, iterations, 16, 'sha1')
  const macKey = randomBytes(20)
  try {
    const masterKeyName = options.passwordName
      ? `\n      <xenc11:MasterKeyName>${xmlText(options.passwordName)}</xenc11:MasterKeyName>`
      : ''
    const wrappedMacKey = encryptCbc(AES128_CBC, encryptionKey, macKey).toString('base64')
    yield `<?xml version="1.0" encoding="UTF-8"?>
<pskc:KeyContainer Version="1.0" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc"
    xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:xenc11="http://www.w3.org/2009/xmlenc11#"
    xmlns:pkcs5="http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#">
  <pskc:EncryptionKey>
    <xenc11:DerivedKey>
      <xenc11:KeyDerivationMethod Algorithm="${PBKDF2}">
        <pkcs5:PBKDF2-params>
          <Salt><Specified>${salt.toString('base64')}</Specified></Salt>
          <IterationCount>${iterations}</IterationCount>
          <KeyLength>16</KeyLength>
        </pkcs5:PBKDF2-params>
      </xenc11:KeyDerivationMethod>${masterKeyName}
    </xenc11:DerivedKey>
  </pskc:EncryptionKey>
  <pskc:MACMethod Algorithm="${HMAC_SHA1}">
    <pskc:MACKey>
      <xenc:EncryptionMethod Algorithm="${AES128_CBC}"/>
      <xenc:CipherData><xenc:CipherValue>${wrappedMacKey}</xenc:CipherValue></xenc:CipherData>
    </pskc:MACKey>
  </pskc:MACMethod>
`
    for (const seed of seeds) yield keyPackage(seed, encryptionKey, macKey)
    yield '</pskc:KeyContainer>\n'
  } finally {
    encryptionKey.fill(0)
    macKey.fill(0)
  }
}

export function exportPskc(seeds: Iterable<SeedRecord>, options: PskcExportOptions): string {
  return [...exportPskcChunks(seeds, options)].join('')
}

function keyPackage(seed: SeedRecord, encryptionKey: Buffer, macKey: Buffer): string {
  const cipherValue = encryptCbc(AES128_CBC, encryptionKey, seed.secret)
  const device = [
    seed.manufacturer ? `<pskc:Manufacturer>${xmlText(seed.manufacturer)}</pskc:Manufacturer>` : '',
    `<pskc:SerialNo>${xmlText(seed.serial)}</pskc:SerialNo>`,
    seed.model ? `<pskc:Model>${xmlText(seed.model)}</pskc:Model>` : '',
  ].join('')
  const suite = seed.algorithm === 'SHA1' ? '' : `<pskc:Suite>HMAC-${seed.algorithm}</pskc:Suite>`
  const moving =
    seed.kind === 'hotp'
      ? `<pskc:Counter><pskc:PlainValue>${seed.counter}</pskc:PlainValue></pskc:Counter>`
      : `<pskc:TimeInterval><pskc:PlainValue>${seed.period}</pskc:PlainValue></pskc:TimeInterval>` +
        // The drift the inventory learnt, so the restored token verifies without a resync (RFC 6030 TimeDrift).
        (seed.driftSteps
          ? `<pskc:TimeDrift><pskc:PlainValue>${seed.driftSteps}</pskc:PlainValue></pskc:TimeDrift>`
          : '')
  return `  <pskc:KeyPackage>
    <pskc:DeviceInfo>${device}</pskc:DeviceInfo>
    <pskc:Key Id="${xmlText(seed.serial)}" Algorithm="${ALGORITHM_URN[seed.kind]}">
      ${seed.issuer ? `<pskc:Issuer>${xmlText(seed.issuer)}</pskc:Issuer>` : ''}
      <pskc:AlgorithmParameters>${suite}<pskc:ResponseFormat Length="${seed.digits}" Encoding="DECIMAL"/></pskc:AlgorithmParameters>
      <pskc:Data>
        <pskc:Secret>
          <pskc:EncryptedValue>
            <xenc:EncryptionMethod Algorithm="${AES128_CBC}"/>
            <xenc:CipherData><xenc:CipherValue>${cipherValue.toString('base64')}</xenc:CipherValue></xenc:CipherData>
          </pskc:EncryptedValue>
          <pskc:ValueMAC>${mac('sha1', macKey, cipherValue).toString('base64')}</pskc:ValueMAC>
        </pskc:Secret>
        ${moving}
      </pskc:Data>${seed.userId ? `\n      <pskc:UserId>${xmlText(seed.userId)}</pskc:UserId>` : ''}
    </pskc:Key>
  </pskc:KeyPackage>
`
}

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
}

function xmlText(value: string): string {
  return value.replace(/[&<>"']/g, (c) => XML_ESCAPES[c])
}
