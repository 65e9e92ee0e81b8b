import type { ErrorCodeValue } from './erro'
import type { MessageVersion } from './versions'

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
  /** Overrides for particular versions (an element whose range or requirement changed between versions). */
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

function applies(spec: FieldSpec, ctx: FieldContext): boolean {
  if (spec.versions && !spec.versions.includes(ctx.version)) return false
  if (spec.channels && !spec.channels.includes(ctx.channel)) return false
  return true
}

function isRequired(spec: FieldSpec, ctx: FieldContext): boolean {
  return typeof spec.required === 'function' ? spec.required(ctx) : spec.required === true
}

/** Validates `obj` against `table`, appending issues. Members not in the table are ignored (spec: validate only what is listed). */
/** For messages without ISO/MCC elements. */
export const NO_SEMANTIC_CHECKS: SemanticChecks = {
  currency: () => true,
  country: () => true,
  mcc: () => true,
}

export function validateTable(
  obj: Record<string, unknown>,
  table: FieldTable,
  ctx: FieldContext,
  issues: FieldIssue[],
  semantics: SemanticChecks = NO_SEMANTIC_CHECKS,
  prefix = '',
): void {
  const local: FieldContext = prefix === '' ? ctx : { ...ctx, msg: obj }
  for (const name in table) {
    const base = table[name]
    const override = base.byVersion?.[ctx.version]
    const spec = override ? { ...base, ...override } : base
    if (!applies(spec, local)) continue
    const path = prefix + name
    const value = obj[name]
    if (isAbsent(value)) {
      if (isRequired(spec, local)) issues.push({ code: '201', path })
      continue
    }
    validateValue(value, spec, local, semantics, issues, path)
  }
}

function validateValue(
  value: unknown,
  spec: FieldSpec,
  ctx: FieldContext,
  semantics: SemanticChecks,
  issues: FieldIssue[],
  path: string,
): void {
  switch (spec.type) {
    case 'string': {
      if (typeof value !== 'string') return void issues.push({ code: '203', path })
      if (
        (spec.minLength !== undefined && value.length < spec.minLength) ||
        (spec.maxLength !== undefined && value.length > spec.maxLength) ||
        (spec.pattern && !spec.pattern.test(value)) ||
        (spec.values && !spec.values.includes(value)) ||
        (spec.check && !spec.check(value, ctx))
      ) {
        return void issues.push({ code: '203', path })
      }
      if (spec.semantic && !semantics[spec.semantic](value)) {
        issues.push({ code: spec.semantic === 'mcc' ? '306' : '304', path })
      }
      return
    }
    case 'boolean':
      if (typeof value !== 'boolean') issues.push({ code: '203', path })
      return
    case 'object':
      if (!isPlainObject(value)) return void issues.push({ code: '203', path })
      if (spec.maxLength !== undefined && JSON.stringify(value).length > spec.maxLength) {
        return void issues.push({ code: '203', path })
      }
      if (spec.fields) validateTable(value, spec.fields, ctx, issues, semantics, path + '.')
      return
    case 'array':
      if (!Array.isArray(value) || (spec.maxItems !== undefined && value.length > spec.maxItems)) {
        return void issues.push({ code: '203', path })
      }
      if (spec.items) {
        for (let i = 0; i < value.length; i++) {
          const item = value[i]
          if (isAbsent(item)) issues.push({ code: '201', path: `${path}[${i}]` })
          else validateValue(item, spec.items, ctx, semantics, issues, `${path}[${i}]`)
        }
      }
      return
  }
}

/** Order in which issue classes are reported when a message has several kinds of fault. */
const PRIORITY: readonly ErrorCodeValue[] = ['201', '203', '202', '304', '306', '305']

/** Picks the code to report and the data elements that have it. */
export function summariseIssues(
  issues: readonly FieldIssue[],
): { code: ErrorCodeValue; detail: string } | undefined {
  for (const code of PRIORITY) {
    const paths = issues.filter((i) => i.code === code).map((i) => i.path)
    if (paths.length > 0) return { code, detail: paths.join(',') }
  }
  return issues.length > 0 ? { code: issues[0].code, detail: issues[0].path } : undefined
}
