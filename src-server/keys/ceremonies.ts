import type { z } from 'zod'
import type { AuditLog } from '../audit/audit-log'
import type { Operator } from '../contract'
import type { Vault } from '../crypto/vault'
import { conflict, forbidden, HttpProblem, notFound } from '../http/problem'
import type { OperatorService } from '../operators/service'
import type { Db } from '../store/db'
import { KeyInputError, parseHex, toHex } from './crypto/bytes'
import { combineComponents } from './crypto/components'
import { keyCheckValue } from './crypto/kcv'
import { combineShares } from './crypto/shamir'
import {
  SYMMETRIC_LENGTH,
  type CeremonyView,
  type ComponentEntry,
  type NewCeremony,
  type SymmetricAlgorithm,
} from './model'
import { checkKindUsage, familyOf, type KeyStore } from './store'

interface CeremonyRow {
  id: number
  name: string
  kind: string
  algorithm: SymmetricAlgorithm
  key_usage: string
  mode_of_use: string
  bdk_id: string | null
  scheme: 'xor' | 'shamir'
  components: number
  threshold: number
  opened_by: number
  status: 'open' | 'completed' | 'cancelled'
  key_id: number | null
  opened_at: string
  closed_at: string | null
}

interface ComponentRow {
  position: number
  custodian_id: number
  username: string
  kcv: string | null
  sealed: Buffer | null
  entered_at: string | null
}

const sealAad = (ceremonyId: number, position: number) => `ims ceremony ${ceremonyId} component ${position}`

/**
 * Key-component ceremonies: dual control and split knowledge.
 *
 * A key manager opens a ceremony naming one key custodian per component (or share); the opener can never be
 * one of them and nobody holds two components of the same ceremony. Each custodian, signed in with their
 * own account and second factor, enters their component on their turn and sees that component's KCV; the
 * component stays sealed until the last one arrives, when they are combined into a stored key and wiped.
 * The API never returns a component, and the audit log records who entered what KCV when, never the value.
 */
export class CeremonyService {
  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly audit: AuditLog,
    private readonly operators: OperatorService,
    private readonly keys: KeyStore,
  ) {}

  open(input: z.infer<typeof NewCeremony>, opener: Operator): CeremonyView {
    const names = input.custodians
    if (new Set(names).size !== names.length) {
      throw badCeremony('a custodian can hold only one component of a ceremony (split knowledge)')
    }
    const byName = new Map(this.operators.list().map((o) => [o.username, o]))
    const custodians = names.map((name) => {
      const op = byName.get(name)
      if (!op || op.status !== 'active') throw badCeremony(`there is no active operator named ${name}`)
      if (op.id === opener.id) {
        throw badCeremony('the operator who opens a ceremony cannot be one of its custodians (dual control)')
      }
      if (op.role !== 'key-custodian') throw badCeremony(`${name} is not a key custodian`)
      if (!op.totpEnabled) throw noSecondFactor(name)
      return op
    })
    const threshold = input.scheme === 'shamir' ? (input.threshold ?? names.length) : names.length
    if (threshold > names.length) throw badCeremony('the threshold cannot exceed the number of shares')
    if (input.kind === 'bdk' && input.algorithm === 'tdes3') throw badCeremony('a TDES DUKPT BDK is tdes2')
    if (input.keyUsage !== undefined) checkKindUsage(input.kind, input.keyUsage)
    // A BDK ID that is taken (or malformed) would only be refused once every custodian has come: say so now.
    if (input.kind === 'bdk' && input.bdkId !== undefined) this.keys.newBdkId(input.algorithm, input.bdkId)
    if (this.keys.list().some((k) => k.name === input.name))
      throw conflict(`A key named ${input.name} already exists`)
    return this.db.transaction(() => {
      const info = this.db
        .prepare(
          `INSERT INTO key_ceremonies (name, kind, algorithm, key_usage, mode_of_use, bdk_id, scheme, components,
             threshold, opened_by, status, opened_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)`,
        )
        .run(
          input.name,
          input.kind,
          input.algorithm,
          input.keyUsage ?? '',
          input.modeOfUse ?? '',
          input.bdkId ?? null,
          input.scheme,
          names.length,
          threshold,
          opener.id,
          new Date().toISOString(),
        )
      const id = Number(info.lastInsertRowid)
      const add = this.db.prepare(
        'INSERT INTO key_ceremony_components (ceremony_id, position, custodian_id) VALUES (?, ?, ?)',
      )
      custodians.forEach((c, i) => add.run(id, i + 1, c.id))
      this.audit.record({
        actor: `operator:${opener.username}`,
        action: 'keys.ceremony.open',
        target: `ceremony:${id}`,
        details: {
          name: input.name,
          algorithm: input.algorithm,
          scheme: input.scheme,
          threshold,
          custodians: names,
        },
      })
      return this.view(id, opener)
    })()
  }

  list(viewer: Operator): CeremonyView[] {
    const ids = this.db
      .prepare('SELECT id FROM key_ceremonies ORDER BY id DESC LIMIT 200')
      .pluck()
      .all() as number[]
    return ids.map((id) => this.view(id, viewer))
  }

  view(id: number, viewer: Operator): CeremonyView {
    const c = this.row(id)
    const components = this.components(id)
    const opener = this.operators.get(c.opened_by).username
    const next = this.nextPosition(c, components)
    const key = c.key_id === null ? undefined : this.keys.get(c.key_id)
    return {
      id: c.id,
      name: c.name,
      kind: c.kind,
      algorithm: c.algorithm,
      keyUsage: c.key_usage || '(default)',
      scheme: c.scheme,
      components: c.components,
      threshold: c.threshold,
      openedBy: opener,
      status: c.status,
      openedAt: c.opened_at,
      ...(c.closed_at ? { closedAt: c.closed_at } : {}),
      ...(key ? { key: { id: key.id, kcv: key.kcv } } : {}),
      custodians: components.map((p) => ({
        position: p.position,
        username: p.username,
        entered: p.entered_at !== null,
        ...(p.entered_at ? { enteredAt: p.entered_at } : {}),
        // A component's KCV is shown to its own custodian only; the others learn only that it was entered.
        ...(p.custodian_id === viewer.id && p.kcv ? { kcv: p.kcv } : {}),
        yourTurn:
          c.status === 'open' && p.custodian_id === viewer.id && p.entered_at === null && next(p.position),
      })),
    }
  }

  private row(id: number): CeremonyRow {
    const row = this.db.prepare('SELECT * FROM key_ceremonies WHERE id = ?').get(id) as
      CeremonyRow | undefined
    if (!row) throw notFound(`No ceremony with id ${id}`)
    return row
  }

  private components(id: number): ComponentRow[] {
    return this.db
      .prepare(
        `SELECT c.position, c.custodian_id, o.username, c.kcv, c.sealed, c.entered_at
         FROM key_ceremony_components c JOIN operators o ON o.id = c.custodian_id
         WHERE c.ceremony_id = ? ORDER BY c.position`,
      )
      .all(id) as ComponentRow[]
  }

  /** XOR components go in order (each custodian on their turn); Shamir shares may come in any order. */
  private nextPosition(c: CeremonyRow, components: ComponentRow[]): (position: number) => boolean {
    if (c.scheme === 'shamir') return () => true
    const first = components.find((p) => p.entered_at === null)?.position
    return (position) => position === first
  }

  enter(id: number, input: z.infer<typeof ComponentEntry>, custodian: Operator) {
    const actor = `operator:${custodian.username}`
    // Re-read the account: the second factor must be enrolled now, not merely when the session began.
    const current = this.operators.get(custodian.id)
    if (!current.totpEnabled) throw noSecondFactor(current.username)
    return this.db.transaction(() => {
      const c = this.row(id)
      if (c.status !== 'open') throw conflict(`The ceremony is ${c.status}`)
      const components = this.components(id)
      const mine = components.find((p) => p.custodian_id === custodian.id)
      if (!mine) throw forbidden('You are not a custodian of this ceremony')
      if (mine.entered_at !== null) throw conflict('You have already entered your component')
      if (!this.nextPosition(c, components)(mine.position)) {
        throw conflict(
          `It is not your turn: component ${components.find((p) => p.entered_at === null)?.position} comes first`,
        )
      }
      let value: Buffer
      try {
        value = parseHex('the component', input.value, [SYMMETRIC_LENGTH[c.algorithm]])
      } catch (err) {
        if (err instanceof KeyInputError) throw badCeremony(err.message)
        throw err
      }
      if (c.scheme === 'shamir' && input.shareIndex === undefined)
        throw badCeremony('a share needs its index (shareIndex)')
      if (c.scheme === 'xor' && input.shareIndex !== undefined)
        throw badCeremony('XOR components have no share index')
      try {
        const kcv = toHex(keyCheckValue(familyOf(c.algorithm), value))
        if (input.kcv && !kcv.startsWith(input.kcv.toUpperCase())) {
          throw badCeremony('the component does not match the check value on its form; nothing was stored')
        }
        const payload =
          c.scheme === 'shamir' ? Buffer.concat([Buffer.from([input.shareIndex!]), value]) : value
        const at = new Date().toISOString()
        this.db
          .prepare(
            'UPDATE key_ceremony_components SET kcv = ?, sealed = ?, entered_at = ? WHERE ceremony_id = ? AND position = ?',
          )
          .run(kcv, this.vault.seal('secret-enc', payload, sealAad(id, mine.position)), at, id, mine.position)
        payload.fill(0)
        this.audit.record({
          actor,
          action: 'keys.ceremony.component',
          target: `ceremony:${id}`,
          details: {
            position: mine.position,
            kcv,
            ...(c.scheme === 'shamir' ? { shareIndex: input.shareIndex } : {}),
          },
        })
        const entered = components.filter((p) => p.entered_at !== null).length + 1
        if (entered < c.threshold) {
          return { ceremonyId: id, position: mine.position, kcv, completed: false, warnings: [] as string[] }
        }
        const result = this.complete(c, actor)
        return {
          ceremonyId: id,
          position: mine.position,
          kcv,
          completed: true,
          key: result.key,
          warnings: result.warnings,
        }
      } finally {
        value.fill(0)
      }
    })()
  }

  /** Combines the sealed components into the key, stores it, and wipes the components. */
  private complete(c: CeremonyRow, actor: string) {
    const rows = this.components(c.id).filter((p) => p.sealed !== null)
    const opened = rows.map((p) => this.vault.open(p.sealed!, sealAad(c.id, p.position)))
    let key: Buffer
    let warnings: string[] = []
    try {
      if (c.scheme === 'xor') {
        const combined = combineComponents(
          familyOf(c.algorithm),
          opened.map((value) => ({ value })),
        )
        key = combined.key
        warnings = combined.warnings
      } else {
        key = combineShares(opened.map((b) => ({ index: b[0], value: b.subarray(1) })))
      }
    } catch (err) {
      if (err instanceof KeyInputError) throw badCeremony(err.message)
      throw err
    } finally {
      for (const b of opened) b.fill(0)
    }
    try {
      const record = this.keys.storeSecret(
        {
          name: c.name,
          kind: c.kind as never,
          algorithm: c.algorithm,
          ...(c.key_usage ? { keyUsage: c.key_usage } : {}),
          ...(c.mode_of_use ? { modeOfUse: c.mode_of_use } : {}),
          ...(c.bdk_id ? { bdkId: c.bdk_id } : {}),
        },
        key,
        'ceremony',
        actor,
        c.id,
      )
      const at = new Date().toISOString()
      this.db.prepare('UPDATE key_ceremony_components SET sealed = NULL WHERE ceremony_id = ?').run(c.id)
      this.db
        .prepare(`UPDATE key_ceremonies SET status = 'completed', key_id = ?, closed_at = ? WHERE id = ?`)
        .run(record.id, at, c.id)
      this.audit.record({
        actor,
        action: 'keys.ceremony.complete',
        target: `ceremony:${c.id}`,
        details: {
          keyId: record.id,
          kcv: record.kcv,
          componentKcvs: rows.map((p) => ({ position: p.position, custodian: p.username, kcv: p.kcv })),
          warnings,
        },
      })
      return { key: { id: record.id, kcv: record.kcv }, warnings }
    } finally {
      key.fill(0)
    }
  }

  cancel(id: number, actor: Operator): CeremonyView {
    return this.db.transaction(() => {
      const c = this.row(id)
      if (c.status !== 'open') throw conflict(`The ceremony is ${c.status}`)
      this.db.prepare('UPDATE key_ceremony_components SET sealed = NULL WHERE ceremony_id = ?').run(id)
      this.db
        .prepare(`UPDATE key_ceremonies SET status = 'cancelled', closed_at = ? WHERE id = ?`)
        .run(new Date().toISOString(), id)
      this.audit.record({
        actor: `operator:${actor.username}`,
        action: 'keys.ceremony.cancel',
        target: `ceremony:${id}`,
      })
      return this.view(id, actor)
    })()
  }
}

function badCeremony(detail: string): HttpProblem {
  return new HttpProblem(400, 'Invalid ceremony request', detail)
}

function noSecondFactor(username: string): HttpProblem {
  return new HttpProblem(
    403,
    'Second factor required',
    `${username} has no authenticator (TOTP) enrolled: a key custodian must enrol a second factor and sign in with it before taking part in a ceremony`,
  )
}
