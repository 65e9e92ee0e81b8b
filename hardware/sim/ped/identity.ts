import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createLabCa, issueParty, type Party } from '../../../src-server/keys/crypto/lab-pki'

/**
 * A simulated PED's identity: descriptive fields plus the factory-installed TR-34 credentials — the
 * device's KRD key pair and certificate, and the root CA it trusts for KDH certificates.
 */
export interface PedIdentity {
  vendor: string
  model: string
  serial: string
  firmware: string
  /** PCI PTS POI version. */
  securityVersion: string
  trustedCa: X509Certificate
  certificate: X509Certificate
  privateKey: KeyObject
}

export interface IdentityOptions {
  serial?: string
  model?: string
  vendor?: string
  firmware?: string
  securityVersion?: string
}

export function createFactoryIdentity(ca: Party, o: IdentityOptions = {}): PedIdentity {
  const serial = o.serial ?? 'SIM00000001'
  // Like a factory certificate, it names the device: the station checks the serial GET_INFO reports against it.
  const krd = issueParty(ca, 'KRD', `PED ${serial}`, undefined, serial)
  return {
    vendor: o.vendor ?? 'IMS Lab',
    model: o.model ?? 'SIM-PED-1',
    serial,
    firmware: o.firmware ?? '1.0.0',
    securityVersion: o.securityVersion ?? '6',
    trustedCa: ca.certificate,
    certificate: krd.certificate,
    privateKey: krd.privateKey,
  }
}

/**
 * The lab root CA kept in a directory (ca.pem + ca.key, created on first use) so the station can issue
 * its KDH certificate under the same root the simulated devices trust.
 */
export function loadOrCreateLabCa(dir: string): Party {
  const certPath = join(dir, 'ca.pem')
  const keyPath = join(dir, 'ca.key')
  if (existsSync(certPath) && existsSync(keyPath)) {
    return {
      certificate: new X509Certificate(readFileSync(certPath)),
      privateKey: createPrivateKey(readFileSync(keyPath)),
    }
  }
  const ca = createLabCa()
  mkdirSync(dir, { recursive: true })
  writeFileSync(certPath, ca.certificate.toString())
  writeFileSync(keyPath, ca.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
  return ca
}
