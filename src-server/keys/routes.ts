import { z } from 'zod'
import { actorOf, sessionOf } from '../app'
import { HttpProblem } from '../http/problem'
import type { ServerModule } from '../module'
import { runCryptoCommand } from './cli'
import {
  CeremonyView,
  ComponentEntry,
  ComponentReceipt,
  ImportKeyBlock,
  KeyRecord,
  NewCeremony,
  NewKey,
} from './model'

const IdParam = z.object({ id: z.coerce.number().int().positive() })
const CALCULATOR_COMMANDS = ['kcv', 'dukpt', 'tr31-wrap', 'tr31-unwrap', 'pinblock', 'cavv', 'aav'] as const
const CalculatorInput = z.object({
  /** The CLI's named flags without the dashes: `{ "bdk": "…", "ksn": "…" }`; `true` for switches. */
  flags: z.record(z.string().regex(/^[a-z0-9-]{1,30}$/), z.union([z.string().max(4000), z.literal(true)])),
})

export const keysModule: ServerModule = {
  name: 'keys',
  register(api, { keyStore, ceremonies }) {
    api.route({
      method: 'get',
      path: '/api/keys',
      summary: 'Stored keys: metadata and KCV only',
      tags: ['keys'],
      auth: { permission: 'keys.read' },
      responses: { 200: z.array(KeyRecord) },
      handler: () => keyStore.list(),
    })
    api.route({
      method: 'get',
      path: '/api/keys/:id',
      summary: 'One stored key (metadata and KCV)',
      tags: ['keys'],
      auth: { permission: 'keys.read' },
      params: IdParam,
      responses: { 200: KeyRecord },
      handler: (_ctx, { params }) => keyStore.get(params.id),
    })
    api.route({
      method: 'post',
      path: '/api/keys',
      summary: 'Generate a key (random, or an ECDSA P-256 pair for signing); it starts pending',
      tags: ['keys'],
      auth: { permission: 'keys.manage' },
      body: NewKey,
      responses: { 201: KeyRecord },
      handler(ctx, { body }) {
        ctx.status = 201
        return keyStore.generate(body, actorOf(ctx))
      },
    })
    api.route({
      method: 'post',
      path: '/api/keys/import',
      summary: 'Import a TR-31 key block wrapped under a stored key-encryption key (kept under it)',
      tags: ['keys'],
      auth: { permission: 'keys.manage' },
      body: ImportKeyBlock,
      responses: { 201: KeyRecord },
      handler(ctx, { body }) {
        ctx.status = 201
        return keyStore.importKeyBlock(body, actorOf(ctx))
      },
    })
    for (const [verb, summary] of [
      ['activate', 'Put a key into use'],
      ['retire', 'Stop using a key for new work (it stays for verification)'],
      ['destroy', 'Destroy the key material for good (the record stays)'],
    ] as const) {
      api.route({
        method: 'post',
        path: `/api/keys/:id/${verb}`,
        summary,
        tags: ['keys'],
        auth: { permission: 'keys.manage' },
        params: IdParam,
        responses: { 200: KeyRecord },
        handler: (ctx, { params }) => keyStore[verb](params.id, actorOf(ctx)),
      })
    }

    api.route({
      method: 'get',
      path: '/api/key-ceremonies',
      summary: 'Key-component ceremonies (a component KCV is shown to its own custodian only)',
      tags: ['keys'],
      auth: { permission: 'keys.read' },
      responses: { 200: z.array(CeremonyView) },
      handler: (ctx) => ceremonies.list(sessionOf(ctx).operator),
    })
    api.route({
      method: 'get',
      path: '/api/key-ceremonies/:id',
      summary: 'One ceremony',
      tags: ['keys'],
      auth: { permission: 'keys.read' },
      params: IdParam,
      responses: { 200: CeremonyView },
      handler: (ctx, { params }) => ceremonies.view(params.id, sessionOf(ctx).operator),
    })
    api.route({
      method: 'post',
      path: '/api/key-ceremonies',
      summary: 'Open a ceremony naming one custodian per component (XOR, 2–3) or share (Shamir m-of-n)',
      tags: ['keys'],
      auth: { permission: 'keys.manage' },
      body: NewCeremony,
      responses: { 201: CeremonyView },
      handler(ctx, { body }) {
        ctx.status = 201
        return ceremonies.open(body, sessionOf(ctx).operator)
      },
    })
    api.route({
      method: 'post',
      path: '/api/key-ceremonies/:id/components',
      summary: 'Enter my component (custodians, signed in with a second factor); answers its KCV',
      tags: ['keys'],
      auth: { permission: 'keys.custody' },
      params: IdParam,
      body: ComponentEntry,
      responses: { 201: ComponentReceipt },
      handler(ctx, { params, body }) {
        ctx.status = 201
        return ceremonies.enter(params.id, body, sessionOf(ctx).operator)
      },
    })
    api.route({
      method: 'post',
      path: '/api/key-ceremonies/:id/cancel',
      summary: 'Cancel an open ceremony; components entered so far are wiped',
      tags: ['keys'],
      auth: { permission: 'keys.manage' },
      params: IdParam,
      responses: { 200: CeremonyView },
      handler: (ctx, { params }) => ceremonies.cancel(params.id, sessionOf(ctx).operator),
    })

    api.route({
      method: 'post',
      path: '/api/crypto/:command',
      summary:
        'Bench crypto calculator: the same code as `ims crypto <command>`; nothing is stored or logged (needs keys.read)',
      tags: ['keys'],
      auth: { permission: 'keys.read' },
      params: z.object({ command: z.enum(CALCULATOR_COMMANDS) }),
      body: CalculatorInput,
      responses: { 200: z.record(z.string(), z.unknown()) },
      handler(ctx, { params, body }) {
        ctx.set('Cache-Control', 'no-store')
        const argv: string[] = [params.command]
        for (const [name, value] of Object.entries(body.flags)) {
          argv.push(value === true ? `--${name}` : `--${name}=${value}`)
        }
        try {
          return runCryptoCommand(argv)
        } catch (err) {
          // The calculator's messages name the flag at fault, never its value.
          throw new HttpProblem(400, 'Invalid calculator input', (err as Error).message)
        }
      },
    })
  },
}
