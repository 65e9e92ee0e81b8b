import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'electron-vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'

const root = fileURLToPath(new URL('.', import.meta.url))

// `electron-vite build` works without the Electron binary: it only reads electron/package.json for targets.
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      // package.json "dependencies" (koa, better-sqlite3, serialport, usb) stay external by default
      rolldownOptions: {
        input: {
          main: resolve(root, 'src-main/main.ts'), // Electron main -> out/main/main.js
          server: resolve(root, 'src-server/standalone.ts'), // plain-Node server -> out/main/server.js
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      externalizeDeps: false, // a sandboxed preload cannot require() npm packages: bundle them
      rolldownOptions: {
        input: { preload: resolve(root, 'src-main/preload.ts') },
        output: { format: 'cjs' }, // sandboxed preloads cannot be ESM -> out/preload/preload.cjs
      },
    },
  },
  renderer: {
    root: 'src-renderer',
    build: {
      outDir: 'out/renderer',
      // electron-vite leaves code unminified; the console is also served to browsers, so minify it.
      minify: true,
      // electron-vite requires an explicit HTML input when the root is not src/renderer. The cardholder's
      // authenticator and the payment screen are separate pages served by the server (src-server/mobile).
      rolldownOptions: {
        input: {
          index: resolve(root, 'src-renderer/index.html'),
          authenticator: resolve(root, 'src-renderer/authenticator/index.html'),
          poi: resolve(root, 'src-renderer/authenticator/poi.html'),
        },
      },
    },
    plugins: [svelte({ configFile: resolve(root, 'svelte.config.js') })], // else it looks in src-renderer/
  },
})
