/**
 * A process that takes a data folder's lock (`node --import tsx test/helpers/lock-holder.ts DIR`): prints
 * `locked` and keeps it until killed, or `busy <pid>` and exits.
 */
import { DataDirInUseError, lockDataDir } from '../../src-server/store/lock'

try {
  const release = lockDataDir(process.argv[2])
  process.stdout.write('locked\n')
  setInterval(() => release, 60_000)
} catch (err) {
  if (!(err instanceof DataDirInUseError)) throw err
  process.stdout.write(`busy ${err.pid ?? '?'}\n`)
}
