#!/usr/bin/env node
// The `ims` command. It runs the TypeScript sources through tsx, so it works right after `npm install`
// without a build step.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src-server/cli/main.ts')
process.exitCode = await main(process.argv.slice(2))
