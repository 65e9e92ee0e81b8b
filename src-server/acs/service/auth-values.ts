import type { Vault } from '../../crypto/vault'
import type { IssuerRepository, ResolvedRange } from '../../issuers/repository'
import type { Db } from '../../store/db'
import type { AcsKeyStore } from '../keys/key-store'
import { eciFor, type Brand, type EciStatus } from '../auth-values/eci'
import type { AuthValue, AuthValueInput } from '../auth-values/strategy'
import type { AuthValueConfig } from '../../issuers/model'

/** The range's own ECI for a payment authentication's status (`authValue.eci`), if the scheme gave it one. */
function rangeEci(range: ResolvedRange, status: EciStatus, messageCategory: string): string | undefined {
  return messageCategory === '01' ? (range.authValue as AuthValueConfig).eci?.[status] : undefined
}

export class MissingKeysError extends Error {
  override name = 'MissingKeysError'
}

/**
 * Authentication values (CAVV / AAV) through the card range's configured strategy. At the end of a
 * challenge the PAN is read back from the vault for the one computation that needs it, never stored.
 */
export class AuthValues {
  private readonly panOf

  constructor(
    db: Db,
    private readonly vault: Vault,
    private readonly keys: AcsKeyStore,
    private readonly issuers: IssuerRepository,
  ) {
    this.panOf = db.prepare('SELECT pan_ct FROM cards WHERE id = ?').pluck()
  }

  generate(range: ResolvedRange, input: AuthValueInput): AuthValue {
    const generator = this.keys.generatorFor(range)
    if (!generator) throw new MissingKeysError(`card range ${range.id} has no authentication-value keys`)
    const av = generator.generate(input)
    // A status the brand gives no ECI (Mastercard's attempts in non-payment) keeps none.
    return av.eci ? { ...av, eci: rangeEci(range, input.transStatus, input.messageCategory) ?? av.eci } : av
  }

  /** The ECI of a result without an authentication value (N, U, R): the range's table, else the brand's. */
  eci(rangeId: number, status: EciStatus, messageCategory: string): string | undefined {
    const range = this.issuers.getRange(rangeId)
    return rangeEci(range, status, messageCategory) ?? eciFor(range.brand as Brand, status, messageCategory)
  }

  forCard(rangeId: number, cardId: number, input: Omit<AuthValueInput, 'pan'>): AuthValue {
    const sealed = this.panOf.get(cardId) as Buffer | undefined
    if (!sealed) throw new Error(`card ${cardId} no longer exists`)
    return this.generate(this.issuers.getRange(rangeId), { ...input, pan: this.vault.openPan(sealed) })
  }
}
