import type { Context, Next } from 'koa'
import type { ApiRegistry } from './api'
import { HttpProblem } from './problem'

/**
 * The registry's routes as one middleware; what matches no route goes on to `next`. koa-router answers a known
 * path called with another method by throwing a bare 405 (or 501 for a method it does not know): that becomes a
 * 405 problem here, so the caller's problem middleware answers it in words like any other refusal.
 */
export function apiRoutes(api: ApiRegistry) {
  const routes = api.router.routes()
  const methods = api.router.allowedMethods({ throw: true })
  return async (ctx: Context, next: Next) => {
    // koa-router types its own context; the routes run on Koa's.
    const routed = ctx as never
    try {
      await methods(routed, () => routes(routed, next))
    } catch (err) {
      const status = (err as { status?: number }).status
      if (!(err instanceof HttpProblem) && (status === 405 || status === 501))
        throw new HttpProblem(405, 'Method not allowed', `${ctx.method} is not allowed on ${ctx.path}`)
      throw err
    }
  }
}
