import { createLabCa, issueParty, type Party } from '../../../src-server/keys/crypto/lab-pki'
import { createFactoryIdentity, type PedIdentity } from './identity'

/** One lab PKI per test file: RSA key generation is the slow part. */
export interface PedFixtures {
  ca: Party
  kdh: Party
  identity: PedIdentity
}

export function createPedFixtures(serial = 'SIM0001'): PedFixtures {
  const ca = createLabCa()
  return { ca, kdh: issueParty(ca, 'KDH', 'Station 1'), identity: createFactoryIdentity(ca, { serial }) }
}

export const OPERATORS: Record<string, string> = { alice: 'alice-pass-1', bob: 'bob-pass-2' }
export const OPERATOR_LOGINS: [{ id: string; password: string }, { id: string; password: string }] = [
  { id: 'alice', password: OPERATORS.alice },
  { id: 'bob', password: OPERATORS.bob },
]

/** ANSI X9.24-1 A.4: IPEK for BDK 0123…3210 and IKSN FFFF9876543210E00000 (vectors.json → tdes_dukpt). */
export const ANSI_IPEK = Buffer.from('6AC292FAA1315B4D858AB3A3D7D5933A', 'hex')
export const ANSI_IKSN = Buffer.from('FFFF9876543210E00000', 'hex')
