import autocannon from 'autocannon'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '../../src-server/log'
import { startServer, type RunningServer } from '../../src-server/server'
import type { Bench, BenchResult } from '../run'

const SENDS = 2000
const CONNECTIONS = 20

/** Waits until `count` SMS of a kind have reached the virtual phone (status delivered). */
async function delivered(ims: RunningServer, kind: string, count: number): Promise<void> {
  const query = ims.services.db
    .prepare(`SELECT count(*) FROM sms_outbox WHERE kind = ? AND status = 'delivered'`)
    .pluck()
  const until = Date.now() + 60_000
  while ((query.get(kind) as number) < count) {
    if (Date.now() > until)
      throw new Error(`only ${String(query.get(kind))} of ${count} ${kind} SMS delivered`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

const bench: Bench = {
  name: 'twofa pin send',
  async run(): Promise<BenchResult> {
    const dataDir = mkdtempSync(join(tmpdir(), 'ims-twofa-send-'))
    const ims = await startServer({
      env: { IMS_DATA_DIR: dataDir, IMS_PORT: '0' },
      log: createLogger('silent'),
      consoleRoot: null,
    })
    try {
      const { twofa, sms } = ims.services
      const app = twofa.applications.create(
        {
          name: 'Bench',
          configuration: {
            pinAttempts: 10,
            pinTimeToLive: '15m',
            verifyPinLimit: '1/3s',
            sendPinPerPhoneNumberLimit: '3/1d',
            sendPinPerApplicationLimit: '1000000/1d',
          },
        },
        'bench',
      )
      const { messageId } = twofa.applications.createMessage(
        app.applicationId,
        { messageText: 'Your PIN is {{pin}}', pinLength: 6, pinType: 'NUMERIC' },
        'bench',
      )

      // Baseline: the same number of SMS put straight into the outbox, until the virtual phone has them all.
      let started = performance.now()
      for (let i = 0; i < SENDS; i++)
        sms.enqueue({
          to: `+4479462${String(i).padStart(5, '0')}`,
          text: 'Your PIN is 123456',
          kind: 'bench',
          idempotencyKey: `bench:${i}`,
        })
      await delivered(ims, 'bench', SENDS)
      const baseline = SENDS / ((performance.now() - started) / 1000)

      // Through the PIN API over HTTP, one number per PIN (within the per-phone limit), until all are delivered.
      let n = 0
      started = performance.now()
      const result = await autocannon({
        url: ims.url,
        connections: CONNECTIONS,
        amount: SENDS,
        requests: [
          {
            method: 'POST',
            path: '/2fa/v1/pin',
            headers: { 'content-type': 'application/json', authorization: `App ${app.apiKey}` },
            setupRequest: (req) => ({
              ...req,
              body: JSON.stringify({
                applicationId: app.applicationId,
                messageId,
                to: `+4479463${String(n++).padStart(5, '0')}`,
              }),
            }),
          },
        ],
      })
      if (result.non2xx > 0 || result.errors > 0)
        throw new Error(`PIN sends: ${result.non2xx} non-2xx, ${result.errors} errors`)
      await delivered(ims, '2fa-pin', SENDS)
      const value = SENDS / ((performance.now() - started) / 1000)
      return {
        name: 'PINs sent to the virtual phone (HTTP send → delivered)',
        value,
        baseline,
        unit: 'PIN/s',
        note: `baseline: SmsService.enqueue of the same ${SENDS} SMS in process until delivered; ${CONNECTIONS} connections, load generator in the same process`,
      }
    } finally {
      await ims.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  },
}
export default bench
