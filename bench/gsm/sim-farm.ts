/** N simulated modems on ptys in a child process, for the throughput benches (ours and smsd's). */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export interface SimFarm {
  /** The pty paths AT clients open, one per modem. */
  paths: string[]
  /** SMS the simulators accepted so far, all modems together. */
  sent(): Promise<number>
  close(): Promise<void>
}

export function startSimFarm(n: number, latencyMs: number): Promise<SimFarm> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./sim-farm-child.ts', import.meta.url)),
      String(n),
      String(latencyMs),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  )
  const replies: ((line: string) => void)[] = []
  createInterface({ input: child.stdout! }).on('line', (line) => replies.shift()?.(line))
  const next = () => new Promise<string>((resolve) => replies.push(resolve))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return next().then((line) => ({
    paths: (JSON.parse(line) as { paths: string[] }).paths,
    async sent() {
      const reply = next()
      child.stdin!.write('count\n')
      return (JSON.parse(await reply) as { sent: number }).sent
    },
    async close() {
      child.stdin!.end()
      await exited
    },
  }))
}
