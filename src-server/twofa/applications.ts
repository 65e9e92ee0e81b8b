import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { AuditLog } from '../audit/audit-log'
import { HttpProblem, notFound } from '../http/problem'
import type { Db } from '../store/db'
import { hashApiKey, issueApiKey, unknownApiKey } from './api-key'
import { ApplicationConfiguration, type ApplicationView, type CreateMessage, type MessageView } from './model'

export const newId = () => randomBytes(16).toString('hex').toUpperCase()
const iso = (ms: number) => new Date(ms).toISOString()

interface ApplicationRow {
  id: string
  name: string
  key_hash: Buffer
  key_prefix: string
  config: string
  enabled: number
  created_at: number
  updated_at: number
  key_rotated_at: number
}

interface MessageRow {
  id: string
  application_id: string
  message_text: string
  pin_length: number
  pin_type: MessageView['pinType']
  sender_id: string | null
  language: string | null
  created_at: number
}

/** An application as the PIN API sees it once its key is checked. */
export interface AuthenticatedApplication {
  id: string
  configuration: ApplicationConfiguration
}

/** 2FA applications (API key + policy) and their message templates; every change is audited. */
export class ApplicationRepository {
  private readonly byKeyHash
  private readonly byId

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
  ) {
    this.byKeyHash = db.prepare('SELECT * FROM twofa_applications WHERE key_hash = ?')
    this.byId = db.prepare('SELECT * FROM twofa_applications WHERE id = ?')
  }

  private view(row: ApplicationRow): ApplicationView {
    return {
      applicationId: row.id,
      name: row.name,
      configuration: ApplicationConfiguration.parse(JSON.parse(row.config)),
      enabled: row.enabled === 1,
      keyPrefix: row.key_prefix,
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at),
      keyRotatedAt: iso(row.key_rotated_at),
    }
  }

  private row(id: string): ApplicationRow {
    const row = this.byId.get(id) as ApplicationRow | undefined
    if (!row) throw notFound(`No 2FA application ${id}`)
    return row
  }

  create(
    input: { name: string; configuration: ApplicationConfiguration },
    actor: string,
  ): ApplicationView & { apiKey: string } {
    const id = newId()
    const key = issueApiKey('ims2fa')
    const now = Date.now()
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO twofa_applications (id, name, key_hash, key_prefix, config, enabled, created_at, updated_at, key_rotated_at)
           VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)`,
        )
        .run(id, input.name, key.hash, key.prefix, JSON.stringify(input.configuration), now, now, now)
      this.audit.record({
        actor,
        action: 'twofa.application.create',
        target: `twofa-app:${id}`,
        details: { name: input.name, configuration: input.configuration },
      })
    })()
    return { ...this.get(id), apiKey: key.apiKey }
  }

  list(): ApplicationView[] {
    return (
      this.db.prepare('SELECT * FROM twofa_applications ORDER BY created_at, id').all() as ApplicationRow[]
    ).map((r) => this.view(r))
  }

  get(id: string): ApplicationView {
    return this.view(this.row(id))
  }

  update(
    id: string,
    patch: { name?: string; configuration?: Partial<ApplicationConfiguration>; enabled?: boolean },
    actor: string,
  ): ApplicationView {
    this.db.transaction(() => {
      const current = this.get(id)
      const configuration = ApplicationConfiguration.parse({
        ...current.configuration,
        ...patch.configuration,
      })
      this.db
        .prepare(
          'UPDATE twofa_applications SET name = ?, config = ?, enabled = ?, updated_at = ? WHERE id = ?',
        )
        .run(
          patch.name ?? current.name,
          JSON.stringify(configuration),
          (patch.enabled ?? current.enabled) ? 1 : 0,
          Date.now(),
          id,
        )
      this.audit.record({
        actor,
        action: patch.enabled === false ? 'twofa.application.disable' : 'twofa.application.update',
        target: `twofa-app:${id}`,
        details: patch,
      })
    })()
    return this.get(id)
  }

  /** Replaces the API key: the old one stops working at once. The new key is returned only here. */
  rotateKey(id: string, actor: string): { applicationId: string; apiKey: string; keyPrefix: string } {
    const key = issueApiKey('ims2fa')
    this.db.transaction(() => {
      this.row(id)
      const now = Date.now()
      this.db
        .prepare(
          'UPDATE twofa_applications SET key_hash = ?, key_prefix = ?, key_rotated_at = ?, updated_at = ? WHERE id = ?',
        )
        .run(key.hash, key.prefix, now, now, id)
      this.audit.record({ actor, action: 'twofa.application.rotate-key', target: `twofa-app:${id}` })
    })()
    return { applicationId: id, apiKey: key.apiKey, keyPrefix: key.prefix }
  }

  /** The application an API key belongs to; 401 when unknown, 403 when disabled. */
  authenticate(apiKey: string): AuthenticatedApplication {
    const hash = hashApiKey(apiKey)
    const row = this.byKeyHash.get(hash) as ApplicationRow | undefined
    // The lookup is by hash of a 256-bit secret; the comparison is a second, constant-time guard.
    if (!row || !timingSafeEqual(row.key_hash, hash)) throw unknownApiKey()
    if (row.enabled !== 1) throw new HttpProblem(403, 'Forbidden', 'This 2FA application is disabled')
    // Validated when written; parsing it again on every PIN call would only cost time.
    return { id: row.id, configuration: JSON.parse(row.config) as ApplicationConfiguration }
  }

  createMessage(applicationId: string, input: CreateMessage, actor: string): MessageView {
    const id = newId()
    this.db.transaction(() => {
      this.row(applicationId)
      this.db
        .prepare(
          `INSERT INTO twofa_messages (id, application_id, message_text, pin_length, pin_type, sender_id, language, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          applicationId,
          input.messageText,
          input.pinLength,
          input.pinType,
          input.senderId ?? null,
          input.language ?? null,
          Date.now(),
        )
      this.audit.record({
        actor,
        action: 'twofa.message.create',
        target: `twofa-app:${applicationId}`,
        details: { messageId: id, pinLength: input.pinLength, pinType: input.pinType },
      })
    })()
    return this.message(applicationId, id)
  }

  messages(applicationId: string): MessageView[] {
    this.row(applicationId)
    return (
      this.db
        .prepare('SELECT * FROM twofa_messages WHERE application_id = ? ORDER BY created_at, id')
        .all(applicationId) as MessageRow[]
    ).map(messageView)
  }

  /** A message of this application; another application's message is "not found" too. */
  message(applicationId: string, messageId: string): MessageView {
    const row = this.db
      .prepare('SELECT * FROM twofa_messages WHERE id = ? AND application_id = ?')
      .get(messageId, applicationId) as MessageRow | undefined
    if (!row) throw notFound(`No message ${messageId} in application ${applicationId}`)
    return messageView(row)
  }
}

function messageView(r: MessageRow): MessageView {
  return {
    messageId: r.id,
    applicationId: r.application_id,
    messageText: r.message_text,
    pinLength: r.pin_length,
    pinType: r.pin_type,
    ...(r.sender_id ? { senderId: r.sender_id } : {}),
    ...(r.language ? { language: r.language } : {}),
    createdAt: iso(r.created_at),
  }
}
