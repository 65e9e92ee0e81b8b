/** Standalone entry point (`tsx hardware/sim/modem/bin.ts --stdio`): the same `main()` as `ims modem simulate`, without the CLI (gammu proxyat, socat EXEC:). */
import { main } from './cli'

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`${err.message}\n`)
    process.exit(2)
  },
)
