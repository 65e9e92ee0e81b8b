import type { Context } from 'koa'
import { z } from 'zod'
import { actorOf } from '../app'
import { IdParams } from '../http/params'
import type { ServerModule } from '../module'
import {
  CardListName,
  ListChange,
  ListDownload,
  ListView,
  NewParameterSet,
  NewTerminal,
  ParameterSet,
  StatusReport,
  Terminal,
} from './model'
import type { TerminalService } from './service'

export const terminalsModule: ServerModule = {
  name: 'terminals',
  register(api, { terminals }) {
    api.route({
      method: 'get',
      path: '/api/terminals',
      summary: 'Terminals with their parameters, list versions and last status',
      tags: ['terminals'],
      auth: { permission: 'terminals.read' },
      responses: { 200: z.array(Terminal) },
      handler: () => terminals.listTerminals(),
    })
    api.route({
      method: 'post',
      path: '/api/terminals',
      summary: 'Register a terminal; answers its API key once (only a hash is kept)',
      tags: ['terminals'],
      auth: { permission: 'terminals.manage' },
      body: NewTerminal,
      responses: { 201: z.object({ terminal: Terminal, apiKey: z.string() }) },
      handler(ctx, { body }) {
        ctx.status = 201
        return terminals.createTerminal(body, actorOf(ctx))
      },
    })
    api.route({
      method: 'put',
      path: '/api/terminals/:id/parameter-set',
      summary: 'Assign a parameter set to a terminal (it downloads it on its next call)',
      tags: ['terminals'],
      auth: { permission: 'terminals.manage' },
      params: IdParams,
      body: z.object({ parameterSetId: z.number().int().positive() }),
      responses: { 200: Terminal },
      handler: (ctx, { params, body }) =>
        terminals.assignParameters(params.id, body.parameterSetId, actorOf(ctx)),
    })
    api.route({
      method: 'get',
      path: '/api/terminal-parameter-sets',
      summary: 'Signed parameter sets, every version',
      tags: ['terminals'],
      auth: { permission: 'terminals.read' },
      responses: { 200: z.array(ParameterSet) },
      handler: () => terminals.listParameterSets(),
    })
    api.route({
      method: 'post',
      path: '/api/terminal-parameter-sets',
      summary: 'Sign the next version of a parameter set with a signing key from the key store',
      tags: ['terminals'],
      auth: { permission: 'terminals.manage' },
      body: NewParameterSet,
      responses: { 201: ParameterSet },
      handler(ctx, { body }) {
        ctx.status = 201
        return terminals.createParameterSet(body, actorOf(ctx))
      },
    })
    api.route({
      method: 'get',
      path: '/api/terminal-lists/:list',
      summary: 'An exception (hot-card) or BIN allow list: current entries (masked) and versions',
      tags: ['terminals'],
      auth: { permission: 'terminals.read' },
      params: z.object({ list: CardListName }),
      responses: { 200: ListView },
      handler: (_ctx, { params }) => terminals.listView(params.list),
    })
    api.route({
      method: 'post',
      path: '/api/terminal-lists/:list/changes',
      summary: 'Add and remove entries as the next list version',
      tags: ['terminals'],
      auth: { permission: 'terminals.manage' },
      params: z.object({ list: CardListName }),
      body: ListChange,
      responses: { 201: z.object({ version: z.number(), added: z.number(), removed: z.number() }) },
      handler(ctx, { params, body }) {
        ctx.status = 201
        return terminals.changeList(params.list, body, actorOf(ctx))
      },
    })

    // ---- terminal-facing (TMS download): per-terminal API key, served behind TLS in production ----
    const terminalAuth = {
      scheme: 'terminalKey',
      authenticate(ctx: Context) {
        ctx.state.terminal = terminals.authenticate(ctx.get('authorization'))
      },
    }
    const terminalOf = (ctx: Context) => ctx.state.terminal as Parameters<TerminalService['report']>[0]
    api.route({
      method: 'get',
      path: '/tms/v1/parameters',
      summary: 'Terminal: the assigned parameter set (signed payload, signature, signing public key)',
      tags: ['terminal download'],
      auth: terminalAuth,
      responses: {
        200: z.object({
          id: z.number(),
          name: z.string(),
          version: z.number(),
          payload: z.string(),
          signature: z.string(),
          publicKey: z.string(),
        }),
      },
      handler(ctx) {
        const set = terminals.assignedParameters(terminalOf(ctx))
        return {
          id: set.id,
          name: set.name,
          version: set.version,
          payload: set.payload,
          signature: set.signature,
          publicKey: terminals.signingPublicKey(set),
        }
      },
    })
    api.route({
      method: 'get',
      path: '/tms/v1/lists/:list',
      summary: 'Terminal: a card list, full (since=0) or the changes after the version it holds',
      tags: ['terminal download'],
      auth: terminalAuth,
      params: z.object({ list: CardListName }),
      query: z.object({ since: z.coerce.number().int().min(0).default(0) }),
      responses: { 200: ListDownload },
      handler(ctx, { params, query }) {
        ctx.set('Cache-Control', 'no-store')
        return terminals.download(params.list, query.since)
      },
    })
    api.route({
      method: 'post',
      path: '/tms/v1/status',
      summary: 'Terminal: acknowledge what was applied and report status',
      tags: ['terminal download'],
      auth: terminalAuth,
      body: StatusReport,
      responses: { 200: Terminal },
      handler: (ctx, { body }) => terminals.report(terminalOf(ctx), body),
    })
  },
}
