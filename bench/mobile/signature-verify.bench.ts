import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto'
import type { Bench, BenchResult } from '../run'
import { approvalRecord } from '../../src-server/mobile/canonical'
import { importDeviceKey, verifyRecord } from '../../src-server/mobile/signature'

const ROUND_MS = 1500
const ROUNDS = 3
/** Verifications in flight, as many concurrent approvals would put them: enough to keep the pool busy. */
const IN_FLIGHT = 16

/** Calls per second of a synchronous `fn` over a fixed time. */
function rate(fn: () => boolean): number {
  let n = 0
  const until = performance.now() + ROUND_MS
  while (performance.now() < until) {
    for (let k = 0; k < 100; k++, n++) if (!fn()) throw new Error('a genuine signature did not verify')
  }
  return n / (ROUND_MS / 1000)
}

/** Completions per second of an asynchronous `fn`, IN_FLIGHT at a time. */
async function asyncRate(fn: () => Promise<boolean>): Promise<number> {
  let n = 0
  const until = performance.now() + ROUND_MS
  const lane = async () => {
    while (performance.now() < until) {
      if (!(await fn())) throw new Error('a genuine signature did not verify')
      n++
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
  return n / (ROUND_MS / 1000)
}

/**
 * What the ACS does per approval (rebuild the canonical record from its own copy of the transaction and
 * verify the device's r‖s signature with the device's cached key, on the thread pool) against the raw
 * node:crypto ECDSA P-256 verify of the same bytes on the event loop. Target: ≥ 10,000 verifications/s.
 */
const bench: Bench = {
  name: 'mobile signature verification',
  async run(): Promise<BenchResult> {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const spki = publicKey.export({ format: 'der', type: 'spki' })
    const deviceKey = importDeviceKey(spki)
    const rawKey = createPublicKey(publicKey.export({ format: 'pem', type: 'spki' }))
    const fields = {
      decision: 'approve' as const,
      acsTransID: '8a880dc0-d2d2-4067-bcb1-b08d1690b26e',
      amount: '4999',
      exponent: '2',
      currency: '978',
      merchant: 'Lab Merchant & Co',
      issuedAt: Date.now(),
      signedAt: Date.now(),
      nonce: 'Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4',
      deviceId: 'q8Y2mIYz0xq2TGhPz8kKjw',
      poi: '-',
    }
    const record = approvalRecord(fields)
    const bytes = Buffer.from(record)
    const p1363 = sign('sha256', bytes, { key: privateKey, dsaEncoding: 'ieee-p1363' })
    const signature = p1363.toString('base64url')
    await asyncRate(() => verifyRecord(deviceKey, approvalRecord(fields), signature)) // warm-up
    const ims: number[] = []
    const raw: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      raw.push(rate(() => verify('sha256', bytes, { key: rawKey, dsaEncoding: 'ieee-p1363' }, p1363)))
      ims.push(await asyncRate(() => verifyRecord(deviceKey, approvalRecord(fields), signature)))
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
    return {
      name: 'approval record + ECDSA P-256 verify',
      value: median(ims),
      baseline: median(raw),
      unit: 'verifications/s',
      note: `baseline: raw synchronous node:crypto verify of the same bytes; value: ${IN_FLIGHT} in flight on the libuv pool; target ≥ 10,000/s`,
    }
  },
}

export default bench
