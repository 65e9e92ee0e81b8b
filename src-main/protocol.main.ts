import { readFile } from 'node:fs/promises'
import { net, type Session } from 'electron'
import { APP_SCHEME } from './policy/app-url.std'
import { forwardedRequestHeaders, routeAppRequest } from './policy/app-request.std'
import { consoleSecurityHeaders } from './policy/csp.std'

export interface AppProtocolOptions {
  rendererRoot: string
  /** Current base URL of the server; null while it is (re)starting. Read per request because restarts move it. */
  serverUrl: () => string | null
}

function problemResponse(status: number, title: string): Response {
  return new Response(JSON.stringify({ type: 'about:blank', title, status }), {
    status,
    headers: { 'Content-Type': 'application/problem+json', ...consoleSecurityHeaders() },
  })
}

async function forwardToServer(request: Request, url: string): Promise<Response> {
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD'
  try {
    return await net.fetch(url, {
      method: request.method,
      headers: forwardedRequestHeaders(request.headers.entries()),
      // Console API bodies are small JSON documents: buffering them avoids half-duplex streaming subtleties.
      body: hasBody ? await request.arrayBuffer() : undefined,
      redirect: 'manual',
    })
  } catch {
    return problemResponse(502, 'The IMS server did not answer.')
  }
}

/**
 * Serves `app://console/`: the built renderer (read-only, inside its folder) with the console CSP as a header,
 * and `/api/*` + `/health` forwarded to the server, so the renderer has one origin exactly as in a browser.
 */
export function registerAppProtocol(ses: Session, { rendererRoot, serverUrl }: AppProtocolOptions): void {
  ses.protocol.handle(APP_SCHEME, async (request) => {
    const route = routeAppRequest(request.method, request.url, { rendererRoot, serverUrl: serverUrl() })
    switch (route.kind) {
      case 'reject':
        return problemResponse(route.status, route.reason)
      case 'forward':
        return forwardToServer(request, route.url)
      case 'file': {
        let body: Buffer
        try {
          body = await readFile(route.path)
        } catch {
          return problemResponse(404, 'No such console file.')
        }
        return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), {
          headers: {
            'Content-Type': route.contentType,
            'Cache-Control': 'no-cache',
            ...consoleSecurityHeaders(),
          },
        })
      }
    }
  })
}
