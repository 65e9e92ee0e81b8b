import type { Vault } from '../../crypto/vault'
import type { IssuerRepository, ResolvedRange } from '../../issuers/repository'
import type { Db } from '../../store/db'
import type { AcsKeyStore } from '../keys/key-store'
import type { AuthValue, AuthValueInput } from '../auth-values/strategy'

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
    return generator.generate(input)
  }

  forCard(rangeId: number, cardId: number, input: Omit<AuthValueInput, 'pan'>): AuthValue {
    const sealed = this.panOf.get(cardId) as Buffer | undefined
    if (!sealed) throw new Error(`card ${cardId} no longer exists`)
    return this.generate(this.issuers.getRange(rangeId), { ...input, pan: this.vault.openPan(sealed) })
  }
}
