import { aesEncrypt } from '../../src-server/crypto/block'
import { AesDukptHost, formatAesKsn, nextAesCounter } from '../../src-server/keys/crypto/dukpt-aes'
import { opsPerSecond } from './measure'

const bdk = Buffer.from('FEDCBA9876543210F1F1F1F1F1F1F1F1', 'hex')

/** 64 devices, each sending its first 512 transactions in order, interleaved. */
const ksns: Buffer[] = []
{
  const counters: number[] = []
  for (let c = 1; counters.length < 512; c = nextAesCounter(c)) counters.push(c)
  for (const c of counters) {
    for (let d = 0; d < 64; d++)
      ksns.push(formatAesKsn(Buffer.from(`12345678901234${d.toString(16).padStart(2, '0')}`, 'hex'), c))
  }
}

export default {
  name: 'AES-128 DUKPT PIN-key derivations (host, BDK + KSN, 64 devices in transaction order)',
  async run() {
    const block = Buffer.alloc(16)
    const baseline = opsPerSecond(() => aesEncrypt(bdk, block))
    const host = new AesDukptHost(bdk)
    const value = opsPerSecond((i) => host.workingKey(ksns[i % ksns.length], 'pinEncryption'))
    return {
      value,
      baseline,
      unit: 'derivations/s',
      note: 'baseline = single AES-128 block encryptions/s through the same block.ts primitive',
    }
  },
}
