import { utilityProcess, type UtilityProcess } from 'electron'
import { stopProcess } from './policy/graceful-quit.std'
import { CrashRestartPolicy } from './policy/restart-policy.std'
import { waitForServerReady, type MainToServerMessage } from './policy/server-handshake.std'
import serverNodeFlags from '../src-server/node-flags.json'

export interface ServerSupervisorOptions {
  /** out/main/server.js, the same standalone entry `npm run serve` runs under plain Node. */
  serverPath: string
  dataDir: string
  masterKey: MainToServerMessage
  /** Called when the server cannot be (re)started any more. */
  onGiveUp: (error: Error) => void
}

/**
 * Runs the IMS server in an Electron utilityProcess: hands it the master key over its parent port, waits for
 * its ready message and restarts it after a crash, giving up on a crash loop.
 */
export class ServerSupervisor {
  /** Base URL of the running server; null while it is starting, restarting or stopped. */
  url: string | null = null
  private child: UtilityProcess | null = null
  private stopping = false
  private readonly restarts = new CrashRestartPolicy()

  constructor(private readonly options: ServerSupervisorOptions) {}

  private environment(): Record<string, string> {
    const env: Record<string, string> = {}
    for (const [name, value] of Object.entries(process.env)) if (value !== undefined) env[name] = value
    // Port 0: the server picks a free loopback port and reports it in its ready message.
    return { ...env, IMS_DATA_DIR: this.options.dataDir, IMS_PORT: '0', IMS_PARENT_PORT: '1' }
  }

  async start(): Promise<string> {
    const child = utilityProcess.fork(this.options.serverPath, [], {
      serviceName: 'IMS server',
      // V8's flags only: a utilityProcess runs on Electron's V8 platform, whose worker threads Node's
      // --v8-pool-size does not size (docs/architecture.md, "Background threads").
      execArgv: serverNodeFlags.v8,
      env: this.environment(),
      stdio: 'inherit',
    })
    this.child = child
    // The key travels over the process's message port, never through env or argv (visible to other processes).
    child.once('spawn', () => child.postMessage(this.options.masterKey))
    let url: string
    try {
      url = await waitForServerReady(child)
    } catch (error) {
      child.kill()
      throw error
    }
    this.url = url
    child.once('exit', (code) => this.onExit(child, code))
    return url
  }

  private onExit(child: UtilityProcess, code: number): void {
    if (child !== this.child) return
    this.url = null
    this.child = null
    if (this.stopping) return
    this.restartAfterCrash(`exit code ${code}`)
  }

  /** A failed restart counts as one more crash, so a server that cannot come back ends in onGiveUp. */
  private restartAfterCrash(reason: string): void {
    console.error(`The IMS server stopped unexpectedly (${reason}).`)
    const delay = this.restarts.onCrash(Date.now())
    if (delay === null) {
      this.options.onGiveUp(new Error('The IMS server keeps stopping; it will not be restarted again.'))
      return
    }
    setTimeout(() => {
      if (this.stopping) return
      this.start().catch((error: unknown) =>
        this.restartAfterCrash(error instanceof Error ? error.message : String(error)),
      )
    }, delay)
  }

  /**
   * Stops the server for good and resolves once it has exited (or after `graceMs`, when it hangs: the app then
   * quits anyway and Electron ends its utility process).
   */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true
    if (this.child) await stopProcess(this.child, graceMs)
  }
}
