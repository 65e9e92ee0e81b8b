import { constantTimeEqual, KeyInputError, toHex } from './bytes'
import type { CipherFamily } from './cbc'
import { keyCheckValue, type KcvMethod } from './kcv'
import { hasOddParity } from './parity'

/**
 * Classic key components (dual control, split knowledge): full-length components XORed together.
 * Each component's KCV is checked against the one printed on its form before anything is combined.
 */
export interface KeyComponent {
  value: Uint8Array
  /** The KCV written on the component form, checked if given. */
  expectedKcv?: Uint8Array
}

export interface CombinedKey {
  key: Buffer
  kcv: Buffer
  componentKcvs: Buffer[]
  /** TDES only: whether the combined key has odd parity (X9.24 expects it). */
  oddParity?: boolean
  /** Non-fatal findings, e.g. a component without odd parity (published test components often lack it). */
  warnings: string[]
}

export function combineComponents(
  family: CipherFamily,
  components: readonly KeyComponent[],
  method?: KcvMethod,
): CombinedKey {
  if (components.length < 2) throw new KeyInputError('a key needs at least two components')
  const length = components[0].value.length
  const key = Buffer.alloc(length)
  const componentKcvs: Buffer[] = []
  const warnings: string[] = []
  components.forEach((component, i) => {
    if (component.value.length !== length) {
      throw new KeyInputError(`component ${i + 1} is ${component.value.length} bytes, expected ${length}`)
    }
    const kcv = keyCheckValue(family, component.value, method)
    if (
      component.expectedKcv &&
      !constantTimeEqual(kcv.subarray(0, component.expectedKcv.length), component.expectedKcv)
    ) {
      throw new KeyInputError(`component ${i + 1} does not match its check value`)
    }
    if (family === 'tdes' && !hasOddParity(component.value)) {
      warnings.push(`component ${i + 1} does not have odd parity`)
    }
    componentKcvs.push(kcv)
    for (let b = 0; b < length; b++) key[b] ^= component.value[b]
  })
  const result: CombinedKey = { key, kcv: keyCheckValue(family, key, method), componentKcvs, warnings }
  if (family === 'tdes') {
    result.oddParity = hasOddParity(key)
    if (!result.oddParity)
      warnings.push(`the combined key (KCV ${toHex(result.kcv)}) does not have odd parity`)
  }
  return result
}
