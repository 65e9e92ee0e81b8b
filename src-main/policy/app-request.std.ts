import { extname, resolve, sep } from 'node:path'
import { APP_HOST, APP_SCHEME, parseUrl } from './app-url.std'

/**
 * What the `app://` protocol handler does with one request: serve a file of the built renderer, forward to the
 * IMS server, or refuse. Kept free of Electron so every refusal can be unit-tested.
 */
export type AppRequestRoute =
  | { kind: 'file'; path: string; contentType: string }
  | { kind: 'forward'; url: string }
  | { kind: 'reject'; status: 400 | 403 | 404 | 405 | 503; reason: string }

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

export function contentTypeFor(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream'
}

/** Paths the server answers itself: the console API and the health probe. */
function isServerPath(pathname: string): boolean {
  return pathname === '/health' || pathname === '/api' || pathname.startsWith('/api/')
}

export interface AppRequestContext {
  /** Absolute folder of the built renderer (out/renderer). */
  rendererRoot: string
  /** Base URL of the running IMS server, or null while it is (re)starting. */
  serverUrl: string | null
}

export function routeAppRequest(method: string, rawUrl: string, ctx: AppRequestContext): AppRequestRoute {
  const url = parseUrl(rawUrl)
  if (!url || url.protocol !== `${APP_SCHEME}:`)
    return { kind: 'reject', status: 400, reason: 'Not a console address.' }
  if (url.host !== APP_HOST) return { kind: 'reject', status: 404, reason: 'Unknown console host.' }

  if (isServerPath(url.pathname)) {
    if (ctx.serverUrl === null)
      return { kind: 'reject', status: 503, reason: 'The IMS server is not running at the moment.' }
    // pathname always starts with "/api" or "/health" here, so the result cannot leave the server's origin.
    return { kind: 'forward', url: new URL(url.pathname + url.search, ctx.serverUrl).href }
  }

  // The renderer is static: nothing but reads may reach the file system.
  if (method !== 'GET' && method !== 'HEAD')
    return { kind: 'reject', status: 405, reason: 'The console files can only be read.' }

  let decoded: string
  try {
    decoded = decodeURIComponent(url.pathname)
  } catch {
    return { kind: 'reject', status: 400, reason: 'Malformed path.' }
  }
  if (decoded.includes('\0')) return { kind: 'reject', status: 400, reason: 'Malformed path.' }

  const root = resolve(ctx.rendererRoot)
  const relative = decoded === '/' ? 'index.html' : `.${decoded}`
  const path = resolve(root, relative)
  // Resolve first, then check the prefix: this catches "..", encoded separators and absolute paths alike.
  if (!path.startsWith(root + sep))
    return { kind: 'reject', status: 403, reason: 'Outside the console folder.' }
  return { kind: 'file', path, contentType: contentTypeFor(path) }
}

/**
 * Request headers passed on to the server. An allow-list: the console needs only these, and dropping Origin,
 * Cookie and Host lets the server keep rejecting foreign origins while the forwarded request comes from main.
 */
const FORWARDED_REQUEST_HEADERS = new Set([
  'accept',
  'accept-language',
  'authorization',
  'content-type',
  'if-none-match',
])

export function forwardedRequestHeaders(headers: Iterable<[string, string]>): Record<string, string> {
  const kept: Record<string, string> = {}
  for (const [name, value] of headers) {
    const lower = name.toLowerCase()
    if (FORWARDED_REQUEST_HEADERS.has(lower)) kept[lower] = value
  }
  return kept
}
