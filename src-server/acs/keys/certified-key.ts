import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto'
import { HttpProblem } from '../../http/problem'
import { validateCertificateChain } from '../../lab/pki'
import { splitPemChain } from '../app-channel/signed-content'

/**
 * An imported certificate chain with its private key, checked the way every import of one is: the chain
 * (leaf first, then every intermediate: order, signatures, dates, CA flags, and anchoring to `rootPem` when
 * given), a key this server can read, and a key that belongs to the leaf. Anything else is a 422 that says
 * which. `what` names the certificate in that message ("signing", "TLS").
 */
export function certifiedKey(
  input: { chainPem: string; privateKeyPem: string; rootPem?: string },
  what: string,
): {
  chain: string[]
  leaf: X509Certificate
  key: KeyObject
  /** The leaf's subject on one line, and its end date (ISO): what the stores list. */
  subject: string
  expiresAt: string
} {
  const validation = validateCertificateChain(input.chainPem, {
    trustedRootsPem: input.rootPem ? [input.rootPem] : undefined,
  })
  if (!validation.ok) throw new HttpProblem(422, 'Invalid certificate chain', validation.problems.join('; '))
  let key: KeyObject
  try {
    key = createPrivateKey(input.privateKeyPem)
  } catch {
    throw new HttpProblem(422, 'Invalid private key', 'The private key is not a PEM key this server can read')
  }
  const chain = splitPemChain(input.chainPem)
  const leaf = new X509Certificate(chain[0])
  const spki = (k: KeyObject) => k.export({ format: 'der', type: 'spki' })
  if (!spki(createPublicKey(key)).equals(spki(leaf.publicKey)))
    throw new HttpProblem(422, 'Key mismatch', `The private key does not belong to the ${what} certificate`)
  return {
    chain,
    leaf,
    key,
    subject: leaf.subject.replace(/\n/g, ', '),
    expiresAt: new Date(leaf.validTo).toISOString(),
  }
}
