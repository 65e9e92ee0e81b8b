import { createReadStream, existsSync, statSync } from 'node:fs'
import { extname, join, resolve, sep } from 'node:path'
import type { Context, Next } from 'koa'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

/**
 * Serves the built console (GET/HEAD only). Paths are resolved and must stay inside the root; unknown
 * paths that look like pages get index.html (the console routes by hash, but deep links still load).
 * Hashed assets are cached for a year, index.html never.
 */
export function serveConsole(root: string) {
  const base = resolve(root)
  return async (ctx: Context, next: Next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next()
    let rel: string
    try {
      rel = decodeURIComponent(ctx.path)
    } catch {
      return next()
    }
    if (rel.includes('\0')) return next()
    let file = resolve(join(base, rel))
    if (file !== base && !file.startsWith(base + sep)) return next()
    if (!existsSync(file) || statSync(file).isDirectory()) {
      if (extname(rel) !== '') return next()
      file = join(base, 'index.html')
      if (!existsSync(file)) return next()
    }
    ctx.type = TYPES[extname(file)] ?? 'application/octet-stream'
    ctx.length = statSync(file).size
    ctx.set(
      'Cache-Control',
      file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
    )
    ctx.body = ctx.method === 'HEAD' ? null : createReadStream(file)
  }
}

/** Where the built console is: next to the bundled server, or in out/ when running from the sources. */
export function findConsoleRoot(fromDir: string): string | undefined {
  const candidates = [
    process.env.IMS_RENDERER_DIR,
    resolve(fromDir, '../renderer'),
    resolve(fromDir, '../out/renderer'),
  ].filter((c): c is string => !!c)
  return candidates.find((c) => existsSync(join(c, 'index.html')))
}
