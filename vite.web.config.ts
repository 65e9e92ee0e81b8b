import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'

/**
 * Browser development of the console without Electron: `npx vite --config vite.web.config.ts`, with the
 * standalone server running (`npm run serve`). API calls are proxied, so the page keeps a single origin.
 */
const root = fileURLToPath(new URL('.', import.meta.url))
const apiTarget = process.env.IMS_API_URL ?? 'http://127.0.0.1:8787'

export default defineConfig({
  root: resolve(root, 'src-renderer'),
  plugins: [svelte({ configFile: resolve(root, 'svelte.config.js') })],
  server: {
    host: '127.0.0.1',
    proxy: {
      '/api': { target: apiTarget },
      '/health': { target: apiTarget },
    },
  },
  build: { outDir: resolve(root, 'out/renderer-web'), emptyOutDir: true },
})
