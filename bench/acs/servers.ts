/**
 * What the ACS benchmark loads, each in its own process so the IMS's RSS and CPU profile are its own.
 * `seed DIR` prepares a data folder for the shipped server (out/main/server.js, which the benchmark then
 * starts on it): the demo pilot plus 2,000 enrolled cards so velocity reads stay realistic, and prints the
 * PANs. `bare` runs a Koa baseline that parses the same JSON body and does one indexed SQLite read and one
 * insert, and prints its URL.
 */
import Database from 'better-sqlite3'
import Koa from 'koa'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { createLogger } from '../../src-server/log'
import { startServer } from '../../src-server/server'
import { demoRuleSet, seedDemo } from '../../src-server/lab/demo'
import { luhnValid } from '../../src-server/crypto/mask'

async function seedIms(dataDir: string) {
  const ims = await startServer({
    env: { IMS_DATA_DIR: dataDir, IMS_PORT: '0' },
    log: createLogger('silent'),
    consoleRoot: null,
  })
  const { services } = ims
  await services.operators.create(
    { username: 'bench', displayName: 'Bench', role: 'admin', password: 'quiet-meadow-4417' },
    'bench',
  )
  const demo = seedDemo(services, 'bench')
  // Velocity stays in the rules (one indexed read per AReq) but never escalates under the benchmark's load.
  const rules = demoRuleSet(demo.issuerId)
  rules.version = 2
  rules.rules[0].when = [{ type: 'velocityCount', windowMinutes: 10, above: 1_000_000 }]
  services.acs.rules.create(rules, 'bench')
  services.acs.rules.activate('demo', 2, 'bench')

  const pans: string[] = []
  for (let i = 0; pans.length < 2000; i++) {
    const base = `4970${String(i).padStart(11, '0')}`
    for (let d = 0; d < 10; d++)
      if (luhnValid(base + d)) {
        pans.push(base + d)
        break
      }
  }
  services.db.transaction(() => {
    for (const pan of pans)
      services.cardholders.upsert({
        pan,
        expiry: '3012',
        name: 'Bench',
        mobile: '+447700900999',
        language: 'en',
        method: 'sms-otp',
      })
  })()

  await ims.close()
  console.log(JSON.stringify({ pans }))
}

async function startBare(dataDir: string) {
  const db = new Database(join(dataDir, 'bare.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.exec(
    'CREATE TABLE cards (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE log (id INTEGER PRIMARY KEY, card INTEGER, at INTEGER, body TEXT)',
  )
  db.prepare("INSERT INTO cards (id, v) VALUES (1, 'x')").run()
  const read = db.prepare('SELECT v FROM cards WHERE id = ?')
  const insert = db.prepare('INSERT INTO log (card, at, body) VALUES (?, ?, ?)')
  const bare = new Koa()
  bare.use(async (ctx) => {
    const chunks: Buffer[] = []
    for await (const c of ctx.req as AsyncIterable<Buffer>) chunks.push(c)
    const msg = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>
    const v = (read.get(1) as { v: string }).v
    insert.run(1, Date.now(), String(msg.threeDSServerTransID))
    ctx.type = 'application/json; charset=utf-8'
    ctx.body = JSON.stringify({ messageType: 'ARes', transStatus: 'Y', v })
  })
  const bareServer = bare.listen(0, '127.0.0.1')
  await new Promise((r) => bareServer.once('listening', r))

  console.log(JSON.stringify({ url: `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}` }))
  return async () => void bareServer.close()
}

if (process.argv[2] === 'seed') await seedIms(process.argv[3])
else {
  const dir = mkdtempSync(join(tmpdir(), 'ims-acs-bare-'))
  const stop = await startBare(dir)
  process.on('SIGTERM', async () => {
    await stop()
    rmSync(dir, { recursive: true, force: true })
    process.exit(0)
  })
}
