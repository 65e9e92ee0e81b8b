import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { contentTypeFor, forwardedRequestHeaders, routeAppRequest } from './app-request.std'

const rendererRoot = resolve('/opt/ims/out/renderer')
const ctx = { rendererRoot, serverUrl: 'http://127.0.0.1:41234' }

describe('routeAppRequest: static files', () => {
  it('serves index.html for /', () => {
    expect(routeAppRequest('GET', 'app://console/', ctx)).toEqual({
      kind: 'file',
      path: join(rendererRoot, 'index.html'),
      contentType: 'text/html; charset=utf-8',
    })
  })

  it('serves assets with their content type and ignores query and hash', () => {
    expect(routeAppRequest('GET', 'app://console/assets/index-1a2b.js?v=1#x', ctx)).toEqual({
      kind: 'file',
      path: join(rendererRoot, 'assets/index-1a2b.js'),
      contentType: 'text/javascript; charset=utf-8',
    })
  })

  it('answers HEAD like GET and refuses writes', () => {
    expect(routeAppRequest('HEAD', 'app://console/index.html', ctx).kind).toBe('file')
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      expect(routeAppRequest(method, 'app://console/index.html', ctx)).toMatchObject({
        kind: 'reject',
        status: 405,
      })
    }
  })

  it.each([
    'app://console/../../etc/passwd',
    'app://console/%2e%2e/%2e%2e/etc/passwd',
    'app://console/..%2f..%2fetc%2fpasswd',
    'app://console/assets/..%2f..%2f..%2fmain%2fserver.js',
    'app://console/%2fetc%2fpasswd',
  ])('never leaves the renderer folder: %s', (url) => {
    const route = routeAppRequest('GET', url, ctx)
    if (route.kind === 'file') expect(route.path.startsWith(rendererRoot + '/')).toBe(true)
    else expect(route).toMatchObject({ kind: 'reject' })
  })

  it('refuses encoded traversal that would escape', () => {
    expect(routeAppRequest('GET', 'app://console/..%2f..%2fetc%2fpasswd', ctx)).toMatchObject({
      kind: 'reject',
      status: 403,
    })
  })

  it('refuses malformed escapes and NUL bytes', () => {
    expect(routeAppRequest('GET', 'app://console/%E0%A4%A', ctx)).toMatchObject({
      kind: 'reject',
      status: 400,
    })
    expect(routeAppRequest('GET', 'app://console/index.html%00.png', ctx)).toMatchObject({
      kind: 'reject',
      status: 400,
    })
  })

  it('refuses other hosts and schemes', () => {
    expect(routeAppRequest('GET', 'app://other/', ctx)).toMatchObject({ kind: 'reject', status: 404 })
    expect(routeAppRequest('GET', 'file:///etc/passwd', ctx)).toMatchObject({ kind: 'reject', status: 400 })
    expect(routeAppRequest('GET', 'not a url', ctx)).toMatchObject({ kind: 'reject', status: 400 })
  })
})

describe('routeAppRequest: server forwarding', () => {
  it('forwards the API with any method, keeping path and query', () => {
    expect(routeAppRequest('POST', 'app://console/api/session', ctx)).toEqual({
      kind: 'forward',
      url: 'http://127.0.0.1:41234/api/session',
    })
    expect(routeAppRequest('GET', 'app://console/api/cardholders?q=dupont&page=2', ctx)).toEqual({
      kind: 'forward',
      url: 'http://127.0.0.1:41234/api/cardholders?q=dupont&page=2',
    })
    expect(routeAppRequest('GET', 'app://console/health', ctx)).toEqual({
      kind: 'forward',
      url: 'http://127.0.0.1:41234/health',
    })
  })

  it('cannot be steered to another host', () => {
    const route = routeAppRequest('GET', 'app://console/api//evil.example/x', ctx)
    expect(route).toMatchObject({ kind: 'forward' })
    if (route.kind === 'forward') expect(new URL(route.url).host).toBe('127.0.0.1:41234')
  })

  it('does not treat look-alike paths as API paths', () => {
    expect(routeAppRequest('GET', 'app://console/apix', ctx)).toMatchObject({ kind: 'file' })
    expect(routeAppRequest('GET', 'app://console/healthz', ctx)).toMatchObject({ kind: 'file' })
  })

  it('answers 503 while the server is not running', () => {
    expect(
      routeAppRequest('GET', 'app://console/api/session', { rendererRoot, serverUrl: null }),
    ).toMatchObject({
      kind: 'reject',
      status: 503,
    })
  })
})

describe('forwardedRequestHeaders', () => {
  it('keeps only the headers the console API needs', () => {
    expect(
      forwardedRequestHeaders([
        ['Authorization', 'Bearer t'],
        ['Content-Type', 'application/json'],
        ['Origin', 'app://console'],
        ['Cookie', 'a=b'],
        ['Host', 'console'],
        ['Accept', 'application/json'],
      ]),
    ).toEqual({ authorization: 'Bearer t', 'content-type': 'application/json', accept: 'application/json' })
  })
})

describe('contentTypeFor', () => {
  it('falls back to an opaque type for unknown extensions', () => {
    expect(contentTypeFor('/x/file.bin')).toBe('application/octet-stream')
    expect(contentTypeFor('/x/STYLE.CSS')).toBe('text/css; charset=utf-8')
  })
})
