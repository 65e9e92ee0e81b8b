import type { ErrorCodeValue } from './erro'
import { versionAtLeast, type MessageVersion } from './versions'

/**
 * A declarative description of one data element, following the columns of the EMV 3DS field tables:
 * where it applies (versions, channels), whether it is required (possibly conditionally), and its format.
 * One engine walks these tables for every message type.
 */
export interface FieldContext {
  version: MessageVersion
  channel: string
  category: string
  /** The message (or enclosing object) being validated, to evaluate conditions. */
  msg: Record<string, unknown>
}

export type Semantic = 'currency' | 'country' | 'mcc'

export interface FieldSpec {
  type: 'string' | 'boolean' | 'object' | 'array'
  pattern?: RegExp
  minLength?: number
  maxLength?: number
  /** Extra format predicate for strings (dates, URLs…). */
  check?: (value: string, ctx: FieldContext) => boolean
  /** Listed values for strings (enum), checked after `pattern`. */
  values?: readonly string[]
  /** Value-level meaning checked after the format: ISO codes (→304) and MCC (→306). */
  semantic?: Semantic
  versions?: readonly MessageVersion[]
  channels?: readonly string[]
  required?: boolean | ((ctx: FieldContext) => boolean)
  /** Members of an object value. */
  fields?: FieldTable
  /** Spec of each array element. */
  items?: FieldSpec
  maxItems?: number
  /**
   * Overrides from a version on (an element whose range or requirement changed): the override of the latest
   * listed version not after the message's applies, so a 2.2.0 change holds in 2.3.1 unless 2.3.1 has its own.
   */
  byVersion?: Partial<Record<MessageVersion, Omit<FieldSpec, 'type' | 'byVersion'>>>
}

export type FieldTable = Readonly<Record<string, FieldSpec>>

export interface FieldIssue {
  code: ErrorCodeValue
  path: string
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** EMV: a data element present with an empty or null value counts as absent. */
export function isAbsent(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true
  if (Array.isArray(v)) return v.length === 0
  if (isPlainObject(v)) {
    for (const _ in v) return false
    return true
  }
  return false
}

/** Value of a member, or undefined when absent in the EMV sense. */
export function present(msg: Record<string, unknown>, key: string): unknown {
  const v = msg[key]
  return isAbsent(v) ? undefined : v
}

export interface SemanticChecks {
  currency: (code: string) => boolean
  country: (code: string) => boolean
  mcc: (code: string) => boolean
}

/** For messages without ISO/MCC elements. */
export const NO_SEMANTIC_CHECKS: SemanticChecks = {
  currency: () => true,
  country: () => true,
  mcc: () => true,
}

/**
 * A FieldSpec as the engine walks it for one message version: the version's `byVersion` override merged
 * in, every property present (so the hot loop reads one object shape instead of the dozens the table
 * literals produce), nested tables resolved for the same version.
 */
interface ResolvedSpec {
  /** Member name in the enclosing table ('' for array items). */
  name: string
  type: FieldSpec['type']
  pattern: RegExp | undefined
  minLength: number | undefined
  maxLength: number | undefined
  check: FieldSpec['check']
  values: readonly string[] | undefined
  semantic: Semantic | undefined
  required: boolean | ((ctx: FieldContext) => boolean)
  fields: ResolvedTable | undefined
  items: ResolvedSpec | undefined
  maxItems: number | undefined
}

/** The elements of a table that apply to one version and one device channel, in table order. */
interface TableView {
  specs: readonly ResolvedSpec[]
  /** Index in `specs` of each member name. */
  position: ReadonlyMap<string, number>
}

/** A table resolved for one version: a view per channel some element lists, one for every other channel. */
interface ResolvedTable {
  byChannel: ReadonlyMap<string, TableView>
  otherChannels: TableView
}

/**
 * Resolved tables per (table, version). Caching is safe because field tables are module constants that
 * are never mutated, and resolving depends on nothing else: category and the message are only read while
 * walking, and the channel only picks a view. The version is a MessageVersion (callers check it first),
 * so each table holds at most one entry per known version.
 */
const resolvedTables = new WeakMap<FieldTable, Map<MessageVersion, ResolvedTable>>()

/** The override of the latest version in `byVersion` that is not after `version`. */
function overrideFor<T>(
  byVersion: Partial<Record<MessageVersion, T>>,
  version: MessageVersion,
): T | undefined {
  let from: MessageVersion | undefined
  for (const v of Object.keys(byVersion) as MessageVersion[])
    if (versionAtLeast(version, v) && (!from || versionAtLeast(v, from))) from = v
  return from && byVersion[from]
}

function resolveTable(table: FieldTable, version: MessageVersion): ResolvedTable {
  let byVersion = resolvedTables.get(table)
  if (!byVersion) resolvedTables.set(table, (byVersion = new Map()))
  let resolved = byVersion.get(version)
  if (!resolved) {
    // Same order and same applicability as walking the table itself with the override merged.
    const applicable = Object.keys(table).flatMap((name) => {
      if (name in Object.prototype) throw new Error(`field table names an Object.prototype member: ${name}`)
      const base = table[name]
      const override = base.byVersion && overrideFor(base.byVersion, version)
      const spec: FieldSpec = override ? { ...base, ...override } : base
      if (spec.versions && !spec.versions.includes(version)) return []
      return [{ channels: spec.channels, resolved: resolveSpec(name, spec, version) }]
    })
    const view = (channel: string | undefined): TableView => {
      const specs = applicable
        .filter((e) => !e.channels || (channel !== undefined && e.channels.includes(channel)))
        .map((e) => e.resolved)
      return { specs, position: new Map(specs.map((spec, i) => [spec.name, i])) }
    }
    const listed = new Set(applicable.flatMap((e) => e.channels ?? []))
    resolved = {
      byChannel: new Map([...listed].map((channel) => [channel, view(channel)])),
      otherChannels: view(undefined),
    }
    byVersion.set(version, resolved)
  }
  return resolved
}

/**
 * Array items are validated as written: their own versions, channels and byVersion are not consulted
 * (nor is `required`: an absent item is always reported).
 */
function resolveSpec(name: string, spec: FieldSpec, version: MessageVersion): ResolvedSpec {
  return {
    name,
    type: spec.type,
    pattern: spec.pattern,
    minLength: spec.minLength,
    maxLength: spec.maxLength,
    check: spec.check,
    values: spec.values,
    semantic: spec.semantic,
    required: typeof spec.required === 'function' ? spec.required : spec.required === true,
    fields: spec.fields && resolveTable(spec.fields, version),
    items: spec.items && resolveSpec('', spec.items, version),
    maxItems: spec.maxItems,
  }
}

/** Validates `obj` against `table`, appending issues. Members not in the table are ignored (spec: validate only what is listed). */
export function validateTable(
  obj: Record<string, unknown>,
  table: FieldTable,
  ctx: FieldContext,
  issues: FieldIssue[],
  semantics: SemanticChecks = NO_SEMANTIC_CHECKS,
  prefix = '',
): void {
  validateMembers(obj, resolveTable(table, ctx.version), ctx, issues, semantics, prefix)
}

function validateMembers(
  obj: Record<string, unknown>,
  table: ResolvedTable,
  ctx: FieldContext,
  issues: FieldIssue[],
  semantics: SemanticChecks,
  prefix: string,
): void {
  const local: FieldContext = prefix === '' ? ctx : { ...ctx, msg: obj }
  const { specs, position } = table.byChannel.get(local.channel) ?? table.otherChannels
  // One for-in over the message's own members costs much less than a keyed lookup per table element
  // (most name members the message lacks). It reads the same values: messages come from JSON.parse, so
  // their only inherited properties are Object.prototype's, which no table names (resolveTable checks).
  const values: unknown[] = new Array(specs.length)
  for (const key in obj) {
    const at = position.get(key)
    if (at !== undefined) values[at] = obj[key]
  }
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]
    const value = values[i]
    if (isAbsent(value)) {
      const required = spec.required === true || (spec.required !== false && spec.required(local))
      if (required) issues.push({ code: '201', path: prefix + spec.name })
      continue
    }
    validateValue(value, spec, local, semantics, issues, prefix, spec.name)
  }
}

/**
 * Path of a value from its container's path and its member name or array index. Built only for an issue:
 * most values have none, and nested and array paths would otherwise be allocated for every message.
 */
function joinPath(parent: string, member: string | number): string {
  return typeof member === 'number' ? `${parent}[${member}]` : parent + member
}

function validateValue(
  value: unknown,
  spec: ResolvedSpec,
  ctx: FieldContext,
  semantics: SemanticChecks,
  issues: FieldIssue[],
  parent: string,
  member: string | number,
): void {
  switch (spec.type) {
    case 'string': {
      if (typeof value !== 'string') return void issues.push({ code: '203', path: joinPath(parent, member) })
      if (
        (spec.minLength !== undefined && value.length < spec.minLength) ||
        (spec.maxLength !== undefined && value.length > spec.maxLength) ||
        (spec.pattern && !spec.pattern.test(value)) ||
        (spec.values && !spec.values.includes(value)) ||
        (spec.check && !spec.check(value, ctx))
      ) {
        return void issues.push({ code: '203', path: joinPath(parent, member) })
      }
      if (spec.semantic && !semantics[spec.semantic](value)) {
        issues.push({ code: spec.semantic === 'mcc' ? '306' : '304', path: joinPath(parent, member) })
      }
      return
    }
    case 'boolean':
      if (typeof value !== 'boolean') issues.push({ code: '203', path: joinPath(parent, member) })
      return
    case 'object':
      if (!isPlainObject(value)) return void issues.push({ code: '203', path: joinPath(parent, member) })
      if (spec.maxLength !== undefined && jsonLength(value) > spec.maxLength) {
        return void issues.push({ code: '203', path: joinPath(parent, member) })
      }
      if (spec.fields)
        validateMembers(value, spec.fields, ctx, issues, semantics, joinPath(parent, member) + '.')
      return
    case 'array':
      if (!Array.isArray(value) || (spec.maxItems !== undefined && value.length > spec.maxItems)) {
        return void issues.push({ code: '203', path: joinPath(parent, member) })
      }
      if (spec.items) {
        const path = joinPath(parent, member)
        for (let i = 0; i < value.length; i++) {
          const item = value[i]
          if (isAbsent(item)) issues.push({ code: '201', path: joinPath(path, i) })
          else validateValue(item, spec.items, ctx, semantics, issues, path, i)
        }
      }
      return
  }
}

/** Characters JSON.stringify may write escaped: controls, quote, backslash, lone surrogates (here any surrogate). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what JSON escapes
const ESCAPED_IN_JSON = /[\u0000-\u001f"\\\ud800-\udfff]/

/**
 * `JSON.stringify(obj).length` without building the text in the usual case of an object of plain
 * strings (sdkEphemPubKey, in every app AReq): `{"name":"value",…}` is 1 + Σ(name + value + 6).
 */
function jsonLength(obj: Record<string, unknown>): number {
  const names = Object.keys(obj)
  let length = 1
  for (const name of names) {
    const value = obj[name]
    if (typeof value !== 'string' || ESCAPED_IN_JSON.test(name) || ESCAPED_IN_JSON.test(value)) {
      return JSON.stringify(obj).length
    }
    length += name.length + value.length + 6
  }
  return names.length === 0 ? 2 : length
}

/** Order in which issue classes are reported when a message has several kinds of fault. */
const PRIORITY: readonly ErrorCodeValue[] = ['201', '203', '202', '304', '306', '305']

/** Picks the code to report and the data elements that have it. */
export function summariseIssues(
  issues: readonly FieldIssue[],
): { code: ErrorCodeValue; detail: string } | undefined {
  if (issues.length === 0) return undefined // the usual case: skip building a list per class
  for (const code of PRIORITY) {
    const paths = issues.filter((i) => i.code === code).map((i) => i.path)
    if (paths.length > 0) return { code, detail: paths.join(',') }
  }
  return issues.length > 0 ? { code: issues[0].code, detail: issues[0].path } : undefined
}
