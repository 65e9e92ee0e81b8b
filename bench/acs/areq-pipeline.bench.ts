import { buildARes } from '../../src-server/acs/protocol/ares'
import { parseAReq } from '../../src-server/acs/protocol/areq'
import { serializeMessage } from '../../src-server/acs/protocol/serialize'
import { makeAReq } from '../../src-server/acs/fixtures/areq'
import { compileRuleSet, evaluate, type HistoryFacts } from '../../src-server/risk/evaluate'
import { validateRuleSet } from '../../src-server/risk/validate'

/**
 * AReq hot path without I/O: strict parse + field validation + risk evaluation + ARes build and
 * serialisation, against a baseline of plain JSON.parse + JSON.stringify of the same message in the same
 * run. The full HTTP benchmark (Koa route, SQLite, autocannon) comes with the server.
 */
const RAW = JSON.stringify(makeAReq('2.2.0', 'BRW', 'PA'))

const validated = validateRuleSet({
  id: 'bench',
  version: 1,
  issuerId: 'bench',
  defaultOutcome: { transStatus: 'C' },
  rules: [
    {
      // Blocked and stolen cards are answered before the rules (validate.ts): a merchant deny list instead.
      id: 'denied-merchants',
      version: 1,
      when: [{ type: 'merchant', acquirerMerchantIDs: ['DENIED-0001', 'DENIED-0002'] }],
      outcome: { transStatus: 'R', transStatusReason: '11' },
    },
    {
      id: 'mcc',
      version: 1,
      when: [{ type: 'mcc', in: ['7995', '6051', '4829'] }],
      outcome: { transStatus: 'C' },
    },
    {
      id: 'velocity',
      version: 1,
      when: [{ type: 'velocityCount', windowMinutes: 60, above: 5 }],
      outcome: { transStatus: 'C' },
    },
    {
      id: 'low-value',
      version: 1,
      when: [
        { type: 'amount', currency: '978', max: 30000 },
        { type: 'merchantCountry', in: ['250', '276', '380'] },
        { type: 'threeDSMethod', in: ['Y'] },
      ],
      outcome: { transStatus: 'Y' },
    },
  ],
})
if (!validated.ok) throw new Error(validated.errors.join('; '))
const compiled = compileRuleSet(validated.ruleSet)
const facts: HistoryFacts = {
  cardStatus: () => 'active',
  countInWindow: () => 1,
  amountInWindow: () => 0,
  isTrustedMerchant: () => false,
}
const AV = 'AAABBWcSNIdjeUZThmNHAAAAAAA='

function pipeline(): string {
  const r = parseAReq(RAW)
  if (!r.ok) throw new Error('fixture rejected')
  const decision = evaluate(compiled, r.areq, facts)
  if (decision.transStatus !== 'Y') throw new Error('unexpected decision')
  const ares = buildARes({
    areq: r.areq,
    acsTransID: '3c8b7a1e-6c2f-4a52-9a0c-1b2e3d4f5a6b',
    acsReferenceNumber: 'ACS-REF-0001',
    outcome: { transStatus: 'Y', authenticationValue: AV, eci: '05' },
  })
  return serializeMessage(ares)
}

function baseline(): string {
  return JSON.stringify(JSON.parse(RAW))
}

/** Operations per second over a fixed time budget (after a warm-up). */
function opsPerSecond(fn: () => string, millis: number): number {
  for (let i = 0; i < 2000; i++) fn()
  let n = 0
  let sink = 0
  const start = process.hrtime.bigint()
  const budget = BigInt(millis) * 1_000_000n
  let elapsed = 0n
  while (elapsed < budget) {
    for (let i = 0; i < 200; i++) sink += fn().length
    n += 200
    elapsed = process.hrtime.bigint() - start
  }
  if (sink === 0) throw new Error('optimised away')
  return n / (Number(elapsed) / 1e9)
}

export default {
  name: 'acs: AReq parse+validate+risk+ARes serialise vs JSON.parse+stringify',
  async run() {
    const base = opsPerSecond(baseline, 3000)
    const value = opsPerSecond(pipeline, 3000)
    return {
      value: Math.round(value),
      baseline: Math.round(base),
      unit: 'ops/s',
      note: 'single core, no I/O; ratio = protocol-core cost relative to bare JSON round trip. Full HTTP benchmark comes with the server.',
    }
  },
}
