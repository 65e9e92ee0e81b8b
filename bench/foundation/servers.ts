/**
 * The servers the HTTP benchmark loads, in a process of their own so the load generator does not share
 * their event loop: a bare Koa baseline (same data shape, no IMS middleware) and the real IMS server.
 */
import Database from 'better-sqlite3'
import Koa from 'koa'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { createLogger } from '../../src-server/log'
import { startServer } from '../../src-server/server'

const dataDir = mkdtempSync(join(tmpdir(), 'ims-bench-'))
const ims = await startServer({
  env: { IMS_DATA_DIR: dataDir, IMS_PORT: '0' },
  log: createLogger('silent'),
  consoleRoot: null,
})
await ims.services.operators.create(
  { username: 'bench', displayName: 'Bench', role: 'admin', password: 'quiet-meadow-4417' },
  'bench',
)

// Baseline: Koa answering JSON, and one indexed SQLite read, the least any authenticated read must do.
const db = new Database(join(dataDir, 'bare.db'))
db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (id, v) VALUES (1, 'x')")
const read = db.prepare('SELECT v FROM t WHERE id = ?')
const bare = new Koa()
bare.use((ctx) => {
  ctx.body = ctx.path === '/read' ? { v: (read.get(1) as { v: string }).v } : { status: 'ok' }
})
const bareServer = bare.listen(0, '127.0.0.1')
await new Promise((r) => bareServer.once('listening', r))

console.log(
  JSON.stringify({ ims: ims.url, bare: `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}` }),
)
process.on('SIGTERM', async () => {
  bareServer.close()
  await ims.close()
  process.exit(0)
})
