/**
 * What makes the authenticator installable without an app store: its manifest, a service worker that keeps
 * the app shell for offline starts (and never caches an API answer: approvals are always live), and an icon.
 */
export const AUTHENTICATOR_MANIFEST = JSON.stringify({
  name: 'Card authenticator',
  short_name: 'Authenticator',
  description: 'Approve card payments with this device',
  id: '/authenticator/',
  start_url: '/authenticator/',
  scope: '/authenticator/',
  display: 'standalone',
  background_color: '#ffffff',
  theme_color: '#1a4b8c',
  icons: [{ src: '/authenticator/icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' }],
})

export const AUTHENTICATOR_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96"><rect width="96" height="96" rx="20" fill="#1a4b8c"/><rect x="30" y="14" width="36" height="68" rx="6" fill="#fff"/><path d="M38 50l7 7 14-16" fill="none" stroke="#1a4b8c" stroke-width="6" stroke-linecap="round" stroke-linejoin="round"/></svg>`

export const AUTHENTICATOR_SERVICE_WORKER = `'use strict'
const CACHE = 'ims-authenticator-shell-v1'
self.addEventListener('install', () => self.skipWaiting())
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()))
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url)
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return
  const shell = url.pathname.startsWith('/authenticator') || url.pathname.startsWith('/assets/')
  if (!shell) return
  // Network first, so an update is picked up at once; the cached shell only when offline.
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone()
          caches.open(CACHE).then((cache) => cache.put(event.request, copy))
        }
        return response
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true }).then((hit) => hit || Response.error())),
  )
})
`
