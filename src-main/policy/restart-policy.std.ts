/**
 * Decides whether a crashed server is restarted. A crash now and then (a driver bug, an out-of-memory) is
 * survived with a short growing delay; a server that keeps crashing is given up on so the operator sees an error
 * instead of a window that silently keeps failing.
 */
export class CrashRestartPolicy {
  private crashes: number[] = []

  constructor(
    private readonly maxCrashes = 3,
    private readonly windowMs = 60_000,
    private readonly baseDelayMs = 500,
  ) {}

  /** Records a crash at `now` (ms); returns the delay before restarting, or null to give up. */
  onCrash(now: number): number | null {
    this.crashes = this.crashes.filter((at) => now - at < this.windowMs)
    this.crashes.push(now)
    if (this.crashes.length > this.maxCrashes) return null
    return this.baseDelayMs * 2 ** (this.crashes.length - 1)
  }
}
