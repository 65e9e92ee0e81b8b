import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, existsSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A pair of connected pseudo-terminals made by socat: what one side writes, the other reads. */
export interface PtyPair {
  a: string
  b: string
  /** Cut the link, as if the cable were pulled. */
  close(): Promise<void>
}

export async function openPtyPair(): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'pty-'))
  const a = join(dir, 'a')
  const b = join(dir, 'b')
  const proc: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: 'ignore',
  })
  const deadline = Date.now() + 5000
  while (!(existsSync(a) && existsSync(b))) {
    if (proc.exitCode !== null)
      throw new Error('socat exited before creating the pty pair (is socat installed?)')
    if (Date.now() > deadline) throw new Error('socat did not create the pty pair within 5 s')
    await new Promise((r) => setTimeout(r, 20))
  }
  return {
    a,
    b,
    close: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) {
          rmSync(dir, { recursive: true, force: true })
          return resolve()
        }
        proc.once('exit', () => {
          rmSync(dir, { recursive: true, force: true })
          resolve()
        })
        proc.kill('SIGTERM')
      }),
  }
}
