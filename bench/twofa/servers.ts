/**
 * The servers the PIN-verify benchmark loads, in a process of their own so the load generator does not share
 * their event loop: the real IMS server with one 2FA application and 600 pending PINs, and a bare Koa
 * baseline that reads the JSON body and does what a verification must at least do on disk: one indexed
 * SQLite read and one update, with the same pragmas (WAL, synchronous=FULL).
 */
import Koa from 'koa'
import { mkdtempSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readRawBody } from '../../src-server/http/body'
import { createLogger } from '../../src-server/log'
import { startServer } from '../../src-server/server'
import { openDatabase } from '../../src-server/store/db'

export const PINS = 600

const dataDir = mkdtempSync(join(tmpdir(), 'ims-twofa-bench-'))
const ims = await startServer({
  env: { IMS_DATA_DIR: dataDir, IMS_PORT: '0' },
  log: createLogger('silent'),
  consoleRoot: null,
})
const { twofa } = ims.services
// Limits and attempts high enough that every request does the full work (limit check, hash, update).
const app = twofa.applications.create(
  {
    name: 'Bench',
    configuration: {
      pinAttempts: 100,
      pinTimeToLive: '1h',
      verifyPinLimit: '1000000/1s',
      sendPinPerPhoneNumberLimit: '1000000/1d',
      sendPinPerApplicationLimit: '1000000/1d',
    },
  },
  'bench',
)
const message = twofa.applications.createMessage(
  app.applicationId,
  { messageText: 'Bench PIN {{pin}}', pinLength: 6, pinType: 'NUMERIC' },
  'bench',
)
const auth = twofa.applications.authenticate(app.apiKey)
const pinIds: string[] = []
for (let i = 0; i < PINS; i++) {
  const to = `+4479461${String(i).padStart(5, '0')}`
  pinIds.push(
    twofa.pins.send(auth, { applicationId: app.applicationId, messageId: message.messageId, to }).pinId,
  )
}

const db = openDatabase(join(dataDir, 'bare.db'))
db.exec('CREATE TABLE pins (id TEXT PRIMARY KEY, hash TEXT NOT NULL, attempts_left INTEGER NOT NULL) STRICT')
const insert = db.prepare('INSERT INTO pins (id, hash, attempts_left) VALUES (?, ?, 1000000)')
db.transaction(() => pinIds.forEach((id) => insert.run(id, 'x'.repeat(44))))()
const read = db.prepare('SELECT hash, attempts_left FROM pins WHERE id = ?')
const update = db.prepare('UPDATE pins SET attempts_left = attempts_left - 1 WHERE id = ?')
const bare = new Koa()
bare.use(async (ctx) => {
  const body = JSON.parse((await readRawBody(ctx, 4096)).toString('utf8')) as { pin: string }
  const id = ctx.path.split('/')[4]
  const row = read.get(id) as { hash: string; attempts_left: number }
  update.run(id)
  ctx.body = { pinId: id, verified: row.hash === body.pin, attemptsRemaining: row.attempts_left - 1 }
})
const bareServer = bare.listen(0, '127.0.0.1')
await new Promise((r) => bareServer.once('listening', r))

console.log(
  JSON.stringify({
    ims: ims.url,
    bare: `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}`,
    apiKey: app.apiKey,
    pinIds,
  }),
)
process.on('SIGTERM', async () => {
  bareServer.close()
  db.close()
  await ims.close()
  process.exit(0)
})
