#!/usr/bin/env node
// `npm start`: the desktop app when the Electron binary is present, otherwise the headless server.
// `npm run serve` (--headless): always the headless server.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const headlessOnly = process.argv.includes('--headless')

/** The Electron binary, if this machine has one (the npm package alone downloads it lazily and may not). */
function electronBinary() {
  if (process.env.ELECTRON_EXEC_PATH && existsSync(process.env.ELECTRON_EXEC_PATH))
    return process.env.ELECTRON_EXEC_PATH
  const pkg = join(root, 'node_modules', 'electron')
  const pathFile = join(pkg, 'path.txt')
  if (!existsSync(pathFile)) return undefined
  const binary = join(pkg, 'dist', readFileSync(pathFile, 'utf8').trim())
  return existsSync(binary) ? binary : undefined
}

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

function ensureBuilt() {
  if (existsSync(join(root, 'out/main/server.js')) && existsSync(join(root, 'out/renderer/index.html')))
    return
  console.log('Building the suite (first start)…')
  run(process.execPath, [join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'])
}

/** 'yes' / 'no', or the reason the data folder's state could not be read (a sealed key, a damaged file…). */
function initialised() {
  const r = spawnSync(process.execPath, [join(root, 'bin/ims.js'), 'status', '--json'], {
    cwd: root,
    encoding: 'utf8',
  })
  try {
    if (r.status === 0) return JSON.parse(r.stdout).initialised === true ? 'yes' : 'no'
  } catch {
    // falls through: not the status we asked for
  }
  return (r.stderr || r.stdout || 'no answer').trim().split('\n')[0]
}

ensureBuilt()

const electron = headlessOnly ? undefined : electronBinary()
const state = initialised()
if (state === 'no') {
  if (electron) {
    // The desktop app's first-run setup makes the folder itself, with the master key sealed by the OS
    // keychain: an `ims init` here would write a key file first, and the app would then keep using that.
    console.log('No operator account exists yet: the desktop app opens its first-run setup.')
  } else if (process.stdin.isTTY && process.stdout.isTTY) {
    console.log('No operator account exists yet: let us create the first admin.')
    run(process.execPath, [join(root, 'bin/ims.js'), 'init'])
  } else {
    console.log(
      'No operator account exists yet. Create the first admin in the console (first-run setup on this machine), or with:\n' +
        "  printf '%s\\n' 'a-long-password' | npx ims init --admin NAME --password-stdin",
    )
  }
} else if (state !== 'yes') {
  // Not "no operator yet": never offer to initialise a folder whose state is unknown (its key may be sealed
  // by the desktop app); the server or the app says what is wrong when it starts.
  console.log(`Could not read the data folder's state (${state}); starting anyway.`)
}

let child
if (electron) {
  child = spawn(electron, [root], { cwd: root, stdio: 'inherit' })
} else {
  if (!headlessOnly) {
    console.log(
      'Desktop shell unavailable (no Electron binary on this machine): starting the headless server; open the console URL below in a browser.',
    )
  }
  // The server's V8 and Node platform flags (src-server/node-flags.json; why in docs/architecture.md,
  // "Bounded memory" and "Background threads").
  const flags = JSON.parse(readFileSync(join(root, 'src-server/node-flags.json'), 'utf8'))
  child = spawn(process.execPath, [...flags.v8, ...flags.nodePlatform, join(root, 'out/main/server.js')], {
    cwd: root,
    stdio: 'inherit',
  })
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
