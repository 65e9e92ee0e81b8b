import type Koa from 'koa'
import type { ApiRegistry } from './http/api'
import type { Services } from './services'

/**
 * A capability (operators, audit, acs, sms, dongles …) plugs into the server through this shape: it
 * declares its console/API routes on the registry, may mount other routers (the ACS endpoints) on the
 * app, and may run background jobs between start and stop.
 */
export interface ServerModule {
  name: string
  register(api: ApiRegistry, services: Services, app: Koa): void
  start?(services: Services): void | Promise<void>
  stop?(): void | Promise<void>
}
