/** `ims modem ...` as a user runs it: list, probe and send against a simulated modem, and simulate. */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GsmModem } from '../../hardware/gsm/modem'
import { simulatedModemOnPty, type SimulatedModem } from '../../hardware/gsm/testing/sim-pty'
import { REPO_ROOT, runIms } from '../helpers/process'

let dataDir: string
let sim: SimulatedModem
const env = () => ({ IMS_DATA_DIR: dataDir })

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ims-modem-cli-'))
  sim = await simulatedModemOnPty({ reportDelayMs: -1 })
})
afterAll(async () => {
  await sim.close()
  rmSync(dataDir, { recursive: true, force: true })
})

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

describe('ims modem', () => {
  it('lists ports and says when nothing is configured', async () => {
    const r = await runIms(['modem', 'list'], env())
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/not initialised/)
    expect(r.stdout).toMatch(/Serial ports on this machine/)
  })

  it('probes a port, with and without a profile', async () => {
    const plain = await runIms(['modem', 'probe', sim.url], env())
    expect(plain.stderr).toBe('')
    expect(plain.stdout).toMatch(/manufacturer: \S+/)
    const full = await runIms(['modem', 'probe', sim.url, '--profile', 'generic', '--json'], env())
    const report = JSON.parse(full.stdout) as { initialised: { registration: string } }
    expect(report.initialised.registration).toBe('home')
  })

  it('sends through a port and says clearly what is wrong with bad input', async () => {
    const ok = await runIms(
      ['modem', 'send', '--to', '+447700900123', '--text', 'from the cli', '--port', sim.url],
      env(),
    )
    expect(ok.stderr).toBe('')
    expect(ok.stdout).toMatch(/sent through .* in 1 part\(s\), message reference\(s\) \d+/)
    expect(sim.sim.sent.at(-1)).toMatchObject({ to: '+447700900123', text: 'from the cli' })

    const noPort = await runIms(
      ['modem', 'send', '--to', '+447700900123', '--text', 'x', '--port', '/dev/ttyNOPE7'],
      env(),
    )
    expect(noPort.code).toBe(1)
    expect(noPort.stderr).toMatch(/^ims modem send: \/dev\/ttyNOPE7 does not exist/)
    const badTo = await runIms(['modem', 'send', '--to', 'mum', '--text', 'x'], env())
    expect(badTo.code).toBe(2)
    expect(badTo.stderr).toMatch(/--to needs a phone number/)
    const verb = await runIms(['modem', 'dance'], env())
    expect(verb.code).toBe(2)
  })

  it('runs the simulator over TCP for our driver', async () => {
    const port = await freePort()
    const proc = spawn(
      process.execPath,
      ['bin/ims.js', 'modem', 'simulate', '--tcp', String(port), '--profile', 'huawei'],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env() },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    )
    try {
      await new Promise<void>((resolve, reject) => {
        let err = ''
        proc.stderr.on('data', (c: Buffer) => {
          err += c.toString()
          if (err.includes(`tcp://127.0.0.1:${port}`)) resolve()
        })
        proc.once('exit', (code) => reject(new Error(`simulator exited ${code}: ${err}`)))
      })
      const modem = new GsmModem({
        id: 't',
        url: `tcp://127.0.0.1:${port}`,
        profile: 'huawei',
        pollIntervalMs: 0,
      })
      modem.on('warning', () => undefined)
      await modem.open()
      expect((await modem.sendSms({ to: '+491234567890', text: 'over tcp' })).parts).toBe(1)
      await modem.close()
    } finally {
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGTERM')
      await exited
    }
  })
})
