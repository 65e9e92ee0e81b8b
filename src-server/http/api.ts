import Router from '@koa/router'
import type { Context } from 'koa'
import { z, type ZodType } from 'zod'
import type { Permission } from '../operators/permissions'
import { readJsonBody, readRawBody } from './body'
import { HttpProblem } from './problem'

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete'

/** Who may call a route: a console session holding a permission, anyone, or a custom check (API keys). */
export type RouteAuth =
  | { permission: Permission }
  | { public: true }
  | { scheme: string; authenticate(ctx: Context): Promise<void> | void }

export interface RouteInput<B, Q, P> {
  body: B
  query: Q
  params: P
}

export interface RouteSpec<B = unknown, Q = unknown, P = unknown> {
  method: Method
  /** Koa-style path: `/api/operators/:id`. */
  path: string
  summary: string
  tags: string[]
  auth: RouteAuth
  body?: ZodType<B>
  /** `text` passes the raw body as a string (CSV uploads); default `json`. */
  bodyFormat?: 'json' | 'text'
  /** Body size limit for this route in bytes (defaults to the server's JSON limit). */
  bodyLimit?: number
  /** A request without a body is valid (a DELETE that takes one only sometimes): `body` is then undefined. */
  bodyOptional?: boolean
  query?: ZodType<Q>
  params?: ZodType<P>
  /** Documented answers: status → schema (null for an empty body). */
  responses: Record<number, ZodType | null>
  handler(ctx: Context, input: RouteInput<B, Q, P>): Promise<unknown> | unknown
}

export interface ApiOptions {
  jsonBodyBytes: number
  /** Runs before every route with `{permission}` auth; must set ctx.state.operator or throw 401/403. */
  requireSession(ctx: Context, permission: Permission): Promise<void> | void
}

function issuesToErrors(error: z.ZodError, prefix: string) {
  return error.issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].filter(Boolean).join('.'),
    message: i.message,
  }))
}

function parseWith<T>(schema: ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T
  const result = schema.safeParse(value)
  if (!result.success) {
    throw new HttpProblem(
      400,
      'Validation failed',
      `The ${where} does not match what this endpoint accepts`,
      {
        errors: issuesToErrors(result.error, where === 'body' ? '' : where),
      },
    )
  }
  return result.data
}

/**
 * Routes are declared once, with their schemas: the same declaration validates requests, checks
 * permissions and feeds the OpenAPI document, so documentation and behaviour cannot drift apart.
 */
export class ApiRegistry {
  readonly router = new Router()
  private readonly specs: RouteSpec[] = []

  constructor(private readonly options: ApiOptions) {}

  route<B, Q, P>(spec: RouteSpec<B, Q, P>): void {
    this.specs.push(spec as RouteSpec)
    this.router[spec.method](spec.path, async (ctx) => {
      const auth = spec.auth
      if ('permission' in auth) await this.options.requireSession(ctx, auth.permission)
      else if ('authenticate' in auth) await auth.authenticate(ctx)
      let body: unknown
      // No body: Koa's `is` answers null; an empty one (`Content-Length: 0`, as many HTTP clients send a DELETE).
      const noBody = () => ctx.is() === null || ctx.request.length === 0
      if (spec.body && !(spec.bodyOptional && noBody())) {
        const limit = spec.bodyLimit ?? this.options.jsonBodyBytes
        body =
          spec.bodyFormat === 'text'
            ? (await readRawBody(ctx, limit)).toString('utf8')
            : await readJsonBody(ctx, limit)
      }
      const input = {
        body: parseWith(spec.body, body, 'body'),
        query: parseWith(spec.query, ctx.query, 'query'),
        params: parseWith(spec.params, ctx.params, 'path'),
      }
      const result = await spec.handler(ctx, input)
      if (result !== undefined) ctx.body = result
      else if (ctx.body === undefined && ctx.status === 404) ctx.status = 204
    })
  }

  /** OpenAPI 3.1 generated from the registered routes (JSON Schema 2020-12 from zod). */
  openApi(info: { title: string; version: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {}
    const schema = (s: ZodType) => z.toJSONSchema(s, { unrepresentable: 'any', io: 'input' })
    for (const spec of this.specs) {
      const path = spec.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
      const parameters: unknown[] = []
      for (const [where, zs] of [
        ['path', spec.params],
        ['query', spec.query],
      ] as const) {
        if (!zs) continue
        const js = schema(zs) as { properties?: Record<string, unknown>; required?: string[] }
        for (const [name, s] of Object.entries(js.properties ?? {})) {
          parameters.push({
            name,
            in: where,
            required: where === 'path' || !!js.required?.includes(name),
            schema: s,
          })
        }
      }
      const responses: Record<string, unknown> = {}
      for (const [status, zs] of Object.entries(spec.responses)) {
        responses[status] = zs
          ? { description: `HTTP ${status}`, content: { 'application/json': { schema: schema(zs) } } }
          : { description: `HTTP ${status}` }
      }
      responses.default = {
        description: 'Problem details',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      }
      const security =
        'permission' in spec.auth
          ? [{ bearer: [] }]
          : 'scheme' in spec.auth
            ? [{ [spec.auth.scheme]: [] }]
            : []
      paths[path] ??= {}
      paths[path][spec.method] = {
        summary: spec.summary,
        tags: spec.tags,
        ...('permission' in spec.auth ? { 'x-permission': spec.auth.permission } : {}),
        security,
        ...(parameters.length ? { parameters } : {}),
        ...(spec.body
          ? {
              requestBody: {
                required: true,
                content:
                  spec.bodyFormat === 'text'
                    ? { 'text/csv': { schema: { type: 'string' } } }
                    : { 'application/json': { schema: schema(spec.body) } },
              },
            }
          : {}),
        responses,
      }
    }
    return {
      openapi: '3.1.0',
      info,
      paths,
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Token from POST /api/session' },
          appKey: { type: 'apiKey', in: 'header', name: 'Authorization', description: '`App <apiKey>`' },
        },
        schemas: { Problem: { type: 'object', properties: { type: {}, title: {}, status: {}, detail: {} } } },
      },
    }
  }
}
