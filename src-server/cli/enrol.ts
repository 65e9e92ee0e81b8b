import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { cliActor, openForCli } from './context'
import { UsageError } from './io'
import type { Command } from './main'

export const enrolCommand: Command = {
  name: 'enrol',
  usage: 'ims enrol FILE.csv [--skip-invalid] [--dry-run]',
  summary: 'mass-enrol cards from CSV (pan,expiry,name,mobile,email,language,method)',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        'skip-invalid': { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
      },
      allowPositionals: true,
    })
    if (positionals.length !== 1) throw new UsageError('name one CSV file')
    let text: string
    try {
      text = readFileSync(positionals[0], 'utf8')
    } catch (err) {
      throw new UsageError(
        `cannot read ${positionals[0]}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      )
    }
    const services = openForCli()
    try {
      if (values['dry-run']) {
        const report = services.enrolment.validate(text)
        for (const e of report.errors)
          console.error(`line ${e.line}${e.field ? ` (${e.field})` : ''}: ${e.message}`)
        console.log(
          `${report.lines} line(s): ${report.valid.length} valid, ${report.errors.length} error(s); nothing imported (dry run)`,
        )
        return report.errors.length ? 1 : 0
      }
      const tty = process.stderr.isTTY
      let lastPrinted = 0
      const { job, report, done } = services.enrolment.start(text, {
        source: basename(positionals[0]),
        skipInvalid: values['skip-invalid'],
        actor: cliActor(),
        onProgress({ processed, total }) {
          const pct = Math.floor((processed / total) * 100)
          if (tty) process.stderr.write(`\rimporting… ${processed}/${total} (${pct}%)`)
          else if (pct >= lastPrinted + 10 || processed === total) {
            lastPrinted = pct
            process.stderr.write(`importing… ${processed}/${total} (${pct}%)\n`)
          }
        },
      })
      for (const e of report.errors)
        console.error(`line ${e.line}${e.field ? ` (${e.field})` : ''}: ${e.message}`)
      if (job.status === 'rejected') {
        console.error(
          `${report.errors.length} invalid line(s): nothing imported (use --skip-invalid to import the valid ones)`,
        )
        return 1
      }
      if (job.resumed)
        console.error(`resuming run ${job.id} after line ${job.processedLines} of ${job.totalLines}`)
      const result = await done
      if (tty) process.stderr.write('\n')
      console.log(
        `run ${result.id}: ${result.inserted} enrolled, ${result.updated} updated, ${result.skipped} skipped (invalid)`,
      )
      return 0
    } finally {
      await services.close()
    }
  },
}
