import type { Context, Next } from 'koa'
import type { Logger } from '../log'
import type { Problem } from '../contract'

/** An error that becomes an RFC 9457 problem+json answer. `detail` is shown to the client: no secrets in it. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly extra: Partial<Problem> = {},
  ) {
    super(detail ? `${title}: ${detail}` : title)
    this.name = 'HttpProblem'
  }

  get type(): string {
    return `https://ims.local/problems/${this.title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')}`
  }
}

export const badRequest = (detail: string, extra?: Partial<Problem>) =>
  new HttpProblem(400, 'Bad request', detail, extra)
export const notFound = (detail = 'There is nothing at this address') =>
  new HttpProblem(404, 'Not found', detail)
export const conflict = (detail: string) => new HttpProblem(409, 'Conflict', detail)
export const forbidden = (detail = 'Your role does not allow this action') =>
  new HttpProblem(403, 'Forbidden', detail)

export function sendProblem(ctx: Context, problem: Problem, headers: Record<string, string> = {}): void {
  ctx.status = problem.status
  for (const [k, v] of Object.entries(headers)) ctx.set(k, v)
  ctx.type = 'application/problem+json'
  ctx.body = JSON.stringify({ ...problem, instance: problem.instance ?? ctx.path })
}

/**
 * Turns every error into problem+json. Known problems keep their status and words; anything else is a 500
 * whose body says only that something went wrong and the request id to look for in the log: never a stack.
 */
export function problemMiddleware(log: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next()
      if (ctx.status === 404 && ctx.body === undefined) {
        sendProblem(ctx, {
          type: 'https://ims.local/problems/not-found',
          title: 'Not found',
          status: 404,
          detail: `No route for ${ctx.method} ${ctx.path}`,
        })
      }
    } catch (err) {
      if (err instanceof HttpProblem) {
        const headers: Record<string, string> = {}
        if (err.extra.retryAfter !== undefined)
          headers['Retry-After'] = String(Math.ceil(err.extra.retryAfter))
        if (err.status === 401) headers['WWW-Authenticate'] = 'Bearer'
        sendProblem(
          ctx,
          { type: err.type, title: err.title, status: err.status, detail: err.detail, ...err.extra },
          headers,
        )
        if (err.status >= 500) log.error({ err, requestId: ctx.state.requestId }, 'request failed')
        return
      }
      log.error({ err, requestId: ctx.state.requestId, path: ctx.path }, 'unhandled error')
      sendProblem(ctx, {
        type: 'https://ims.local/problems/internal-error',
        title: 'Internal error',
        status: 500,
        detail: `The server could not complete the request; quote request id ${ctx.state.requestId} to support`,
      })
    }
  }
}
