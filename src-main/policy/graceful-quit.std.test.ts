import { fork, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { quitAfter, stopProcess } from './graceful-quit.std'

let dir: string | undefined
const children: ChildProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

/** A real process that takes `closeMs` to close on SIGTERM (writing `closed` when done), or ignores it. */
function server(closeMs: number | 'never'): { child: ChildProcess; closed: string } {
  dir = mkdtempSync(join(tmpdir(), 'ims-quit-'))
  const closed = join(dir, 'closed')
  const script = join(dir, 'server.cjs')
  writeFileSync(
    script,
    closeMs === 'never'
      ? `process.on('SIGTERM', () => {}); process.send('up'); setInterval(() => {}, 1000)`
      : `process.on('SIGTERM', () => setTimeout(() => { require('node:fs').writeFileSync(${JSON.stringify(closed)}, 'x'); process.exit(0) }, ${closeMs}))
         process.send('up'); setInterval(() => {}, 1000)`,
  )
  const child = fork(script, [], { stdio: 'ignore' })
  children.push(child)
  return { child, closed }
}
const up = (child: ChildProcess) => new Promise((resolve) => child.once('message', resolve))

describe('graceful quit', () => {
  it('waits for the server to finish closing before it resolves', async () => {
    const { child, closed } = server(300)
    await up(child)
    expect(await stopProcess(child, 5000)).toBe('exited')
    expect(existsSync(closed)).toBe(true)
  })

  it('gives up on a server that does not stop, after the grace period', async () => {
    const { child } = server('never')
    await up(child)
    const started = Date.now()
    expect(await stopProcess(child, 300)).toBe('timed-out')
    expect(Date.now() - started).toBeGreaterThanOrEqual(290)
    expect(child.exitCode).toBeNull()
  })

  it('holds the quit until the stop settles, stops once, and quits once', async () => {
    let stops = 0
    let finish!: () => void
    const quits: string[] = []
    const onBeforeQuit = quitAfter(
      () => {
        stops++
        return new Promise<void>((resolve) => (finish = resolve))
      },
      () => quits.push('quit'),
    )
    const attempt = () => {
      let prevented = false
      onBeforeQuit({ preventDefault: () => (prevented = true) })
      return prevented
    }
    expect(attempt()).toBe(true)
    expect(attempt()).toBe(true) // a second quit while stopping waits for the same stop
    expect(stops).toBe(1)
    expect(quits).toEqual([])
    finish()
    await new Promise((resolve) => setImmediate(resolve))
    expect(quits).toEqual(['quit'])
    expect(attempt()).toBe(false) // the quit that follows goes through
  })

  it('still quits when the stop fails', async () => {
    const quits: string[] = []
    quitAfter(
      () => Promise.reject(new Error('no server')),
      () => quits.push('quit'),
    )({ preventDefault() {} })
    await new Promise((resolve) => setImmediate(resolve))
    expect(quits).toEqual(['quit'])
  })
})
