import { desEncrypt } from '../../src-server/crypto/block'
import { formatTdesKsn, nextTdesCounter, TdesDukptHost } from '../../src-server/keys/crypto/dukpt-tdes'
import { opsPerSecond } from './measure'

const bdk = Buffer.from('0123456789ABCDEFFEDCBA9876543210', 'hex')

/** 64 devices, each sending its first 512 transactions in order, interleaved (a host's PIN-translation load). */
const ksns: Buffer[] = []
{
  const counters: number[] = []
  for (let c = 1; counters.length < 512; c = nextTdesCounter(c)) counters.push(c)
  for (const c of counters) {
    for (let d = 0; d < 64; d++)
      ksns.push(
        formatTdesKsn(Buffer.from(`FFFF98765432${(d * 2).toString(16).padStart(2, '0')}E00000`, 'hex'), c),
      )
  }
}

export default {
  name: 'TDES DUKPT PIN-key derivations (host, BDK + KSN, 64 devices in transaction order)',
  async run() {
    const block = Buffer.alloc(8)
    const baseline = opsPerSecond(() => desEncrypt(bdk, block))
    const host = new TdesDukptHost(bdk)
    const value = opsPerSecond((i) => host.workingKey(ksns[i % ksns.length], 'pin'))
    return {
      value,
      baseline,
      unit: 'derivations/s',
      note: 'baseline = single 2TDEA block encryptions/s through the same block.ts primitive',
    }
  },
}
