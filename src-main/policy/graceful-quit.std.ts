/** What the graceful stop needs of the server's process: Electron's UtilityProcess and Node's ChildProcess fit. */
export interface StoppableProcess {
  kill(): boolean
  once(event: 'exit', listener: (code: number | null) => void): unknown
}

/**
 * Asks the server to stop and resolves once it has exited, or after `graceMs` if it hangs. `kill()` is a
 * SIGTERM on POSIX, which the server answers by finishing its requests, closing the modems and checkpointing
 * the database (standalone.ts); a desktop app that quit without waiting ended it half-way through that.
 */
export function stopProcess(child: StoppableProcess, graceMs: number): Promise<'exited' | 'timed-out'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timed-out'), graceMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve('exited')
    })
    child.kill()
  })
}

/**
 * The app's `before-quit` handler: the first quit is put off while `stop` runs, then the app quits again once it
 * has settled (whatever it answered: quitting is what the operator asked for). Quits asked for meanwhile only
 * wait for the same stop.
 */
export function quitAfter(
  stop: () => Promise<unknown>,
  quit: () => void,
): (event: { preventDefault(): void }) => void {
  let state: 'running' | 'stopping' | 'stopped' = 'running'
  return (event) => {
    if (state === 'stopped') return
    event.preventDefault()
    if (state === 'stopping') return
    state = 'stopping'
    void stop()
      .catch(() => undefined)
      .finally(() => {
        state = 'stopped'
        quit()
      })
  }
}
