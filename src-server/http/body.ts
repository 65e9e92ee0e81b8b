import type { Context } from 'koa'
import { HttpProblem } from './problem'

/**
 * Reads a request body into memory, refusing more than `limit` bytes (413) before buffering it: a client
 * cannot make the server hold an unbounded body. The raw bytes are kept because some callers need them
 * (the ACS detects duplicate JSON keys, which JSON.parse would hide).
 */
export async function readRawBody(ctx: Context, limit: number): Promise<Buffer> {
  if (ctx.state.rawBody) return ctx.state.rawBody as Buffer
  const declared = Number(ctx.get('content-length') || NaN)
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) {
      ctx.req.unpipe?.()
      ctx.req.resume()
      throw tooLarge(limit)
    }
    chunks.push(chunk)
  }
  const raw = Buffer.concat(chunks)
  ctx.state.rawBody = raw
  return raw
}

function tooLarge(limit: number): HttpProblem {
  return new HttpProblem(413, 'Payload too large', `The request body is larger than ${limit} bytes`)
}

export async function readJsonBody(ctx: Context, limit: number): Promise<unknown> {
  if (!ctx.is('application/json', 'application/*+json')) {
    throw new HttpProblem(415, 'Unsupported media type', 'Send the body as application/json')
  }
  const raw = await readRawBody(ctx, limit)
  if (raw.length === 0)
    throw new HttpProblem(400, 'Bad request', 'The request body is empty; JSON was expected')
  try {
    return JSON.parse(raw.toString('utf8'))
  } catch (err) {
    throw new HttpProblem(400, 'Malformed JSON', (err as Error).message)
  }
}
