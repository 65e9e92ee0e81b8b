import type { IncomingMessage } from 'node:http'
import type { Context } from 'koa'
import { HttpProblem } from './problem'

/**
 * Reads a request body into memory, refusing more than `limit` bytes (413) before buffering it: a client
 * cannot make the server hold an unbounded body. The raw bytes are kept because some callers need them
 * (the ACS detects duplicate JSON keys, which JSON.parse would hide).
 */
export async function readRawBody(ctx: Context, limit: number): Promise<Buffer> {
  if (ctx.state.rawBody) return ctx.state.rawBody as Buffer
  const raw = await readRequestBody(ctx.req, limit)
  ctx.state.rawBody = raw
  return raw
}

/** `readRawBody` for a plain Node request (the ACS's directory-server endpoint runs without Koa). */
export function readRequestBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN)
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit))
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0))
  // Stream events rather than `for await`: the async iterator costs a promise and a microtask per chunk,
  // which showed in the AReq profile (most bodies arrive in one chunk).
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const settle = (err: Error | undefined) => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', settle)
      req.off('close', onClose)
      if (err) reject(err)
      else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks))
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= limit) return void chunks.push(chunk)
      settle(tooLarge(limit))
      req.resume()
    }
    const onEnd = () => settle(undefined)
    const onClose = () => settle(new Error('the client closed the connection before the whole body arrived'))
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', settle)
    req.on('close', onClose)
  })
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
