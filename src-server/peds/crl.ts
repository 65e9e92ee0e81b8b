import type { X509Certificate } from 'node:crypto'
import { conflict, HttpProblem } from '../http/problem'
import { CertificateValidationError, parseCrl, verifyCrl, type Crl } from '../keys/crypto/pki'

/**
 * The import rules for the trusted PED CA's CRL. The station applies the stored CRL to every device (KRD)
 * certificate and hands it to each device with the KDH credential token, so what it admits must be the
 * CA's own, current, complete list, and never an older one than it already has.
 */

/**
 * A CRL dated further ahead of the station's clock is refused: by the rollback rule it would block every
 * genuine CRL the CA issues until that date.
 */
const CLOCK_SKEW_MS = 5 * 60_000

const PEM = /^-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]+)-----END X509 CRL-----$/
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

function badCrl(detail: string): HttpProblem {
  return new HttpProblem(400, 'Invalid CRL', detail)
}

/** A CRL given as PEM ("X509 CRL") or as base64 DER, parsed; anything else is a 400 saying what is wrong. */
export function decodeCrl(text: string): Crl {
  const trimmed = text.trim()
  let base64: string
  if (trimmed.startsWith('-----BEGIN')) {
    const pem = PEM.exec(trimmed)
    if (!pem) throw badCrl('the PEM text is not one "-----BEGIN X509 CRL-----" block')
    base64 = pem[1].replace(/\s+/g, '')
  } else {
    base64 = trimmed.replace(/\s+/g, '')
  }
  if (!BASE64.test(base64) || base64.length % 4 !== 0) {
    throw badCrl('send the CRL as PEM ("-----BEGIN X509 CRL-----") or as base64 of its DER')
  }
  try {
    return parseCrl(Buffer.from(base64, 'base64'))
  } catch (err) {
    throw badCrl(`not a usable CRL: ${(err as Error).message}`)
  }
}

/**
 * Refuses (400/409 problem) a CRL that is not the trusted CA's (name and signature), has no nextUpdate or
 * is already past it, is dated in the future, or is older than the stored one (by thisUpdate, and by CRL
 * number when both carry one): a replayed old CRL would un-revoke the devices revoked since.
 */
export function admitCrl(crl: Crl, o: { ca: X509Certificate; stored?: Crl; now?: Date }): void {
  const now = o.now ?? new Date()
  try {
    verifyCrl(crl, o.ca, now)
  } catch (err) {
    if (err instanceof CertificateValidationError) throw badCrl(err.message)
    throw err
  }
  if (!crl.nextUpdate) {
    throw badCrl('the CRL has no nextUpdate, so the station could not tell when it is out of date')
  }
  if (crl.thisUpdate.getTime() > now.getTime() + CLOCK_SKEW_MS) {
    throw badCrl(`the CRL is dated in the future (${crl.thisUpdate.toISOString()}): check the clocks`)
  }
  const stored = o.stored
  if (!stored) return
  if (crl.thisUpdate < stored.thisUpdate) {
    throw rollback(
      `it was issued ${crl.thisUpdate.toISOString()}, the stored one ${stored.thisUpdate.toISOString()}`,
    )
  }
  if (crl.crlNumber !== undefined && stored.crlNumber !== undefined && crl.crlNumber < stored.crlNumber) {
    throw rollback(`its CRL number is ${crl.crlNumber}, the stored one's ${stored.crlNumber}`)
  }
}

const rollback = (why: string) => conflict(`The CRL is older than the stored one: ${why}`)

/** What the API and console show of an admitted CRL (which always has a nextUpdate). */
export function crlSummary(crl: Crl) {
  return {
    thisUpdate: crl.thisUpdate.toISOString(),
    nextUpdate: crl.nextUpdate!.toISOString(),
    ...(crl.crlNumber !== undefined ? { crlNumber: crl.crlNumber.toString() } : {}),
    revokedCount: crl.revokedSerials.size,
  }
}

/**
 * Whether `crl` is `ca`'s own (its issuer and signature; not its dates): a renewed CA certificate with the
 * same name and key keeps its CRL, another CA's CRL says nothing about this CA's devices.
 */
export function issuedBy(crl: Crl, ca: X509Certificate): boolean {
  try {
    verifyCrl(crl, ca, crl.thisUpdate)
    return true
  } catch (err) {
    if (err instanceof CertificateValidationError) return false
    throw err
  }
}
