/** Standalone entry point (`tsx hardware/sim/modem/bin.ts --stdio`) until the `ims` CLI wires `main`. */
import { main } from './cli'

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`${err.message}\n`)
    process.exit(2)
  },
)
