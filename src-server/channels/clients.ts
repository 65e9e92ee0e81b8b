import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { AuditLog } from '../audit/audit-log'
import type { Vault } from '../crypto/vault'
import { HttpProblem, notFound } from '../http/problem'
import type { Db } from '../store/db'
import { hashApiKey, issueApiKey, unknownApiKey } from '../twofa/api-key'
import { newId } from '../twofa/applications'
import type { Channel, ChannelClientView } from './model'

interface ClientRow {
  id: string
  name: string
  key_hash: Buffer
  key_prefix: string
  channels: string
  webhook_url: string | null
  webhook_secret_sealed: Buffer
  enabled: number
  created_at: number
  updated_at: number
}

export interface AuthenticatedClient {
  id: string
  channels: Channel[]
}

const iso = (ms: number) => new Date(ms).toISOString()
const secretAad = (clientId: string) => `channel-webhook:${clientId}`
const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64url')}`

/**
 * Clients of the channel API. They use the same API-key mechanism as 2FA applications (hashed key,
 * `Authorization: App <apiKey>`) but are separate records: a channel key can start cardholder
 * authentications and receives card results, a 2FA key can send PINs to any number, and neither should
 * grant the other. The webhook secret signs results, so it is sealed (reversible) rather than hashed.
 */
export class ChannelClientRepository {
  private readonly byKeyHash

  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly audit: AuditLog,
  ) {
    this.byKeyHash = db.prepare('SELECT * FROM channel_clients WHERE key_hash = ?')
  }

  private row(id: string): ClientRow {
    const row = this.db.prepare('SELECT * FROM channel_clients WHERE id = ?').get(id) as ClientRow | undefined
    if (!row) throw notFound(`No channel client ${id}`)
    return row
  }

  private view(r: ClientRow): ChannelClientView {
    return {
      clientId: r.id,
      name: r.name,
      channels: JSON.parse(r.channels) as Channel[],
      ...(r.webhook_url ? { webhookUrl: r.webhook_url } : {}),
      enabled: r.enabled === 1,
      keyPrefix: r.key_prefix,
      createdAt: iso(r.created_at),
      updatedAt: iso(r.updated_at),
    }
  }

  create(
    input: { name: string; channels: Channel[]; webhookUrl?: string },
    actor: string,
  ): ChannelClientView & { apiKey: string; webhookSecret: string } {
    const id = newId()
    const key = issueApiKey('imsch')
    const webhookSecret = newWebhookSecret()
    const now = Date.now()
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO channel_clients (id, name, key_hash, key_prefix, channels, webhook_url, webhook_secret_sealed, enabled, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
        )
        .run(
          id,
          input.name,
          key.hash,
          key.prefix,
          JSON.stringify(input.channels),
          input.webhookUrl ?? null,
          this.vault.seal('secret-enc', webhookSecret, secretAad(id)),
          now,
          now,
        )
      this.audit.record({
        actor,
        action: 'channels.client.create',
        target: `channel-client:${id}`,
        details: { name: input.name, channels: input.channels, webhookUrl: input.webhookUrl },
      })
    })()
    return { ...this.get(id), apiKey: key.apiKey, webhookSecret }
  }

  list(): ChannelClientView[] {
    return (
      this.db.prepare('SELECT * FROM channel_clients ORDER BY created_at, id').all() as ClientRow[]
    ).map((r) => this.view(r))
  }

  get(id: string): ChannelClientView {
    return this.view(this.row(id))
  }

  update(
    id: string,
    patch: { name?: string; channels?: Channel[]; webhookUrl?: string | null; enabled?: boolean },
    actor: string,
  ): ChannelClientView {
    this.db.transaction(() => {
      const r = this.row(id)
      this.db
        .prepare(
          'UPDATE channel_clients SET name = ?, channels = ?, webhook_url = ?, enabled = ?, updated_at = ? WHERE id = ?',
        )
        .run(
          patch.name ?? r.name,
          patch.channels ? JSON.stringify(patch.channels) : r.channels,
          patch.webhookUrl === undefined ? r.webhook_url : patch.webhookUrl,
          patch.enabled === undefined ? r.enabled : patch.enabled ? 1 : 0,
          Date.now(),
          id,
        )
      this.audit.record({
        actor,
        action: 'channels.client.update',
        target: `channel-client:${id}`,
        details: patch,
      })
    })()
    return this.get(id)
  }

  /** A new API key, or a new webhook secret; the old one stops working at once. Shown only here. */
  rotate(
    id: string,
    what: 'api-key' | 'webhook-secret',
    actor: string,
  ): { clientId: string; secret: string } {
    let secret = ''
    this.db.transaction(() => {
      this.row(id)
      if (what === 'api-key') {
        const key = issueApiKey('imsch')
        secret = key.apiKey
        this.db
          .prepare('UPDATE channel_clients SET key_hash = ?, key_prefix = ?, updated_at = ? WHERE id = ?')
          .run(key.hash, key.prefix, Date.now(), id)
      } else {
        secret = newWebhookSecret()
        this.db
          .prepare('UPDATE channel_clients SET webhook_secret_sealed = ?, updated_at = ? WHERE id = ?')
          .run(this.vault.seal('secret-enc', secret, secretAad(id)), Date.now(), id)
      }
      this.audit.record({ actor, action: `channels.client.rotate-${what}`, target: `channel-client:${id}` })
    })()
    return { clientId: id, secret }
  }

  authenticate(apiKey: string): AuthenticatedClient {
    const hash = hashApiKey(apiKey)
    const row = this.byKeyHash.get(hash) as ClientRow | undefined
    if (!row || !timingSafeEqual(row.key_hash, hash)) throw unknownApiKey()
    if (row.enabled !== 1) throw new HttpProblem(403, 'Forbidden', 'This channel client is disabled')
    return { id: row.id, channels: JSON.parse(row.channels) as Channel[] }
  }

  /** Where and with what the results of a client's requests are signed; undefined without a webhook. */
  webhookOf(id: string): { url: string; secret: string } | undefined {
    const r = this.row(id)
    if (!r.webhook_url) return undefined
    return { url: r.webhook_url, secret: this.webhookSecret(id, r.webhook_secret_sealed) }
  }

  webhookSecret(id: string, sealed = this.row(id).webhook_secret_sealed): string {
    return this.vault.open(sealed, secretAad(id)).toString('utf8')
  }
}
