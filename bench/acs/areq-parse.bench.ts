import { parseAReq } from '../../src-server/acs/protocol/areq'
import { makeAReq } from '../../src-server/acs/fixtures/areq'
import type { Bench, BenchResult } from '../run'

/**
 * parseAReq alone (strict JSON parse with duplicate-member detection + AReq field-table validation) on the
 * AReqs the HTTP benchmark sends, and on an app AReq whose deviceInfo has the size real SDKs send
 * (1–3 kB), against plain JSON.parse of the same text measured in the same run.
 */
const ACS_URL = 'http://127.0.0.1:8443'

/** Device information as an EMV 3DS SDK collects it (platform parameters C001…, device IDs, warnings). */
const SDK_DEVICE_INFO = Buffer.from(
  JSON.stringify({
    DV: '1.4',
    DD: Object.fromEntries(
      Array.from({ length: 60 }, (_, i) => [`C${String(i + 1).padStart(3, '0')}`, `value-${i}-of-sdk`]),
    ),
    DPNA: { C010: 'RE01', C011: 'RE03' },
    SW: ['SW01', 'SW04'],
  }),
).toString('base64url')

function realistic(channel: 'BRW' | 'APP', deviceInfo?: string): string {
  return JSON.stringify({
    ...makeAReq('2.2.0', channel, 'PA'),
    acctNumber: '4111110000000211',
    purchaseAmount: '1999',
    dsURL: `${ACS_URL}/lab/ds/rreq`,
    ...(channel === 'BRW'
      ? { notificationURL: `${ACS_URL}/lab/merchant/notify/00000000-0000-4000-8000-000000000000` }
      : {}),
    ...(deviceInfo ? { deviceInfo } : {}),
    threeDSServerTransID: '5f0f2f8e-2b8c-4a57-9f7e-3c1d2e4b6a70',
    threeDSRequestorChallengeInd: '02',
  })
}

/**
 * Operations per second of `value` and `baseline`, measured in alternating short batches (after a
 * warm-up) so that load from other processes on the shared machine falls on both alike.
 */
function interleaved(value: () => unknown, baseline: () => unknown, millis: number) {
  const BATCH = 100
  for (let i = 0; i < 5000; i++) {
    value()
    baseline()
  }
  const spent = { value: 0n, baseline: 0n }
  let batches = 0
  let sink = 0
  const end = process.hrtime.bigint() + BigInt(millis) * 1_000_000n
  while (process.hrtime.bigint() < end) {
    for (const which of ['value', 'baseline'] as const) {
      const fn = which === 'value' ? value : baseline
      const start = process.hrtime.bigint()
      for (let i = 0; i < BATCH; i++) if (fn()) sink++
      spent[which] += process.hrtime.bigint() - start
    }
    batches++
  }
  if (sink === 0) throw new Error('optimised away')
  const perSecond = (ns: bigint) => (batches * BATCH) / (Number(ns) / 1e9)
  return { value: perSecond(spent.value), baseline: perSecond(spent.baseline) }
}

function measure(label: string, raw: string, ratioBefore: number): BenchResult {
  const options = { allowHttpLoopback: true }
  const first = parseAReq(raw, options)
  if (!first.ok) throw new Error(`${label} fixture rejected: ${first.erro.errorDetail}`)
  const ops = interleaved(
    () => parseAReq(raw, options).ok,
    () => JSON.parse(raw),
    5000,
  )
  return {
    name: `${label} (${raw.length} B)`,
    value: Math.round(ops.value),
    baseline: Math.round(ops.baseline),
    unit: 'ops/s',
    note: `single core, no I/O; baseline = JSON.parse of the same text, so ratio = parseAReq's speed as a fraction of a bare parse (${ratioBefore} before the parse-speed work).`,
  }
}

export default {
  name: 'acs: parseAReq vs JSON.parse',
  async run() {
    return [
      measure('BRW AReq', realistic('BRW'), 0.157),
      measure('APP AReq', realistic('APP'), 0.15),
      measure('APP AReq, SDK-sized deviceInfo', realistic('APP', SDK_DEVICE_INFO), 0.118),
    ]
  },
} satisfies Bench
