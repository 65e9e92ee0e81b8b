import { aesEncrypt, desEncrypt } from '../../crypto/block'
import { blockSize, type CipherFamily } from './cbc'
import { cmac } from './cmac'

/**
 * Key check values (X9.24-1:2017 Annex A, PCI PIN 15-1).
 * - legacy: encrypt an all-zero block, keep the leftmost 3 bytes (6 hex digits);
 * - cmac: CMAC over an all-zero block, keep the leftmost 5 bytes (10 hex digits).
 * AES keys must use the CMAC method; TDES keys may use either.
 */
export type KcvMethod = 'legacy' | 'cmac'

export const KCV_LENGTH: Record<KcvMethod, number> = { legacy: 3, cmac: 5 }

export function keyCheckValue(family: CipherFamily, key: Uint8Array, method?: KcvMethod): Buffer {
  const chosen = method ?? defaultKcvMethod(family)
  const zeros = Buffer.alloc(blockSize(family))
  const full =
    chosen === 'cmac'
      ? cmac(family, key, zeros)
      : family === 'aes'
        ? aesEncrypt(key, zeros)
        : desEncrypt(key, zeros)
  return full.subarray(0, KCV_LENGTH[chosen])
}

export function defaultKcvMethod(family: CipherFamily): KcvMethod {
  return family === 'aes' ? 'cmac' : 'legacy'
}
