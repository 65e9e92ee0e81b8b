import { generateKeyPairSync, randomBytes, type KeyObject, type X509Certificate } from 'node:crypto'
import { issueCertificate, type CertificateRole } from './pki'

/**
 * A lab TR-34 PKI: one root CA (TR-34 commonly uses one root for both sides) issuing KDH and KRD
 * certificates whose CNs carry the role marker. Used by the PED simulator's factory identity, tests and
 * benchmarks; production credentials come from the issuer's own CA.
 */
export interface Party {
  certificate: X509Certificate
  privateKey: KeyObject
}

export function generateRsaKey(bits = 2048): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: bits })
}

export function createLabCa(
  subject: [string, string][] = [
    ['O', 'IMS Lab'],
    ['CN', 'IMS Lab TR-34 Root CA'],
  ],
): Party {
  const { publicKey, privateKey } = generateRsaKey()
  const certificate = issueCertificate({
    subject,
    publicKey,
    serialHex: '01',
    selfSignKey: privateKey,
    isCa: true,
  })
  return { certificate, privateKey }
}

/**
 * A KDH or KRD certificate under `ca`. `deviceSerial` (KRD) goes into the subject's serialNumber so the
 * station can tie the serial a device reports to the certificate that authenticates it.
 */
export function issueParty(
  ca: Party,
  role: CertificateRole,
  commonName: string,
  serialHex = `7${randomBytes(7).toString('hex')}`,
  deviceSerial?: string,
): Party {
  const { publicKey, privateKey } = generateRsaKey()
  const certificate = issueCertificate({
    subject: [
      ['O', 'IMS Lab'],
      ...(deviceSerial === undefined ? [] : [['serialNumber', deviceSerial] as [string, string]]),
      ['CN', `${commonName} ${role}`],
    ],
    publicKey,
    serialHex,
    issuer: ca,
  })
  return { certificate, privateKey }
}
