/**
 * SMS message templates: what each kind of message says, per issuer and language. A template is plain text
 * with `{{name}}` placeholders and `{{#name}}…{{/name}}` sections kept only when the value is present (an
 * authentication without a merchant name must not read "at ,"). Validation is strict because a bad template
 * breaks every SMS of its kind: unknown names, unbalanced sections and missing required parts are errors.
 */
export const TEMPLATE_KINDS = [
  'otp',
  'otp-decoupled',
  'reply-request',
  'dongle-request',
  'fraud-alert',
] as const
export type TemplateKind = (typeof TEMPLATE_KINDS)[number]

export const PLACEHOLDERS = ['code', 'ref', 'amount', 'merchant', 'card'] as const
export type Placeholder = (typeof PLACEHOLDERS)[number]
export type TemplateValues = Partial<Record<Placeholder, string>>

export const LANGUAGES = ['en', 'fr', 'de'] as const

interface KindRule {
  /** Placeholders the text must contain. */
  required: readonly Placeholder[]
  /** Placeholders the text may not contain (a fraud alert never carries a code). */
  forbidden: readonly Placeholder[]
  /** Extra checks, each returning a problem or undefined. */
  checks: readonly ((text: string) => string | undefined)[]
  summary: string
}

// Cardholders (and phones' code auto-fill) find the code right after the word "code"; keep it there.
const codeAfterWord = (text: string) =>
  /\bcode\s+\{\{code\}\}/i.test(text)
    ? undefined
    : 'the code must come right after the word "code" ("… code {{code}} …")'
const replyKeyword = (word: string) => (text: string) =>
  new RegExp(`\\b${word}\\s+\\{\\{ref\\}\\}`).test(text)
    ? undefined
    : `the text must show the reply to send: "${word} {{ref}}"`

export const KIND_RULES: Record<TemplateKind, KindRule> = {
  otp: {
    required: ['code'],
    forbidden: ['ref'],
    checks: [codeAfterWord],
    summary: 'One-time code for a browser or app challenge (SMS Push B)',
  },
  'otp-decoupled': {
    required: ['code'],
    forbidden: ['ref'],
    checks: [codeAfterWord],
    summary: 'One-time code to send back by SMS (decoupled SMS Push B)',
  },
  'reply-request': {
    required: ['ref'],
    forbidden: ['code'],
    checks: [replyKeyword('YES')],
    summary: 'Approval request answered by SMS: YES/NO and the reference (SMS Push A)',
  },
  'dongle-request': {
    required: [],
    forbidden: ['code'],
    checks: [],
    summary: 'Asks for the code of the cardholder’s token by SMS reply (OTP Dongle B)',
  },
  'fraud-alert': {
    required: ['ref', 'card'],
    forbidden: ['code'],
    checks: [replyKeyword('FRAUD')],
    summary: 'Real-time notification of an authentication, with the FRAUD reply that blocks the card',
  },
}

/** Built-in texts, used until an issuer stores its own. */
export const DEFAULT_TEMPLATES: Record<TemplateKind, Record<(typeof LANGUAGES)[number], string>> = {
  otp: {
    en: 'Your code {{code}} for {{#amount}}{{amount}} {{/amount}}{{#merchant}}at {{merchant}}, {{/merchant}}card {{card}}. Never share it.',
    fr: 'Votre code {{code}} pour {{#amount}}{{amount}} {{/amount}}{{#merchant}}chez {{merchant}}, {{/merchant}}carte {{card}}. Ne le communiquez à personne.',
    de: 'Ihr Code {{code}} für {{#amount}}{{amount}} {{/amount}}{{#merchant}}bei {{merchant}}, {{/merchant}}Karte {{card}}. Geben Sie ihn nie weiter.',
  },
  'otp-decoupled': {
    en: 'Your code {{code}} for {{#amount}}{{amount}} {{/amount}}{{#merchant}}at {{merchant}}, {{/merchant}}card {{card}}. Reply with this code to approve, or NO to refuse.',
    fr: 'Votre code {{code}} pour {{#amount}}{{amount}} {{/amount}}{{#merchant}}chez {{merchant}}, {{/merchant}}carte {{card}}. Répondez avec ce code pour valider, ou NON pour refuser.',
    de: 'Ihr Code {{code}} für {{#amount}}{{amount}} {{/amount}}{{#merchant}}bei {{merchant}}, {{/merchant}}Karte {{card}}. Antworten Sie mit diesem Code zum Bestätigen oder NEIN zum Ablehnen.',
  },
  'reply-request': {
    en: 'Approve {{#amount}}{{amount}} {{/amount}}{{#merchant}}at {{merchant}} {{/merchant}}with card {{card}}? Reply YES {{ref}} to approve or NO {{ref}} to refuse.',
    fr: 'Valider {{#amount}}{{amount}} {{/amount}}{{#merchant}}chez {{merchant}} {{/merchant}}avec la carte {{card}} ? Répondez YES {{ref}} pour valider ou NO {{ref}} pour refuser.',
    de: '{{#amount}}{{amount}} {{/amount}}{{#merchant}}bei {{merchant}} {{/merchant}}mit Karte {{card}} bestätigen? Antworten Sie YES {{ref}} zum Bestätigen oder NO {{ref}} zum Ablehnen.',
  },
  'dongle-request': {
    en: 'Approve {{#amount}}{{amount}} {{/amount}}{{#merchant}}at {{merchant}} {{/merchant}}with card {{card}}: reply with the code shown on your token, or NO to refuse.',
    fr: 'Valider {{#amount}}{{amount}} {{/amount}}{{#merchant}}chez {{merchant}} {{/merchant}}avec la carte {{card}} : répondez avec le code affiché par votre token, ou NON pour refuser.',
    de: '{{#amount}}{{amount}} {{/amount}}{{#merchant}}bei {{merchant}} {{/merchant}}mit Karte {{card}} bestätigen: antworten Sie mit dem Code Ihres Tokens oder NEIN zum Ablehnen.',
  },
  'fraud-alert': {
    en: 'Card {{card}} used{{#merchant}} at {{merchant}}{{/merchant}}{{#amount}} for {{amount}}{{/amount}}. Not you? Reply FRAUD {{ref}} to block the card.',
    fr: 'Carte {{card}} utilisée{{#merchant}} chez {{merchant}}{{/merchant}}{{#amount}} pour {{amount}}{{/amount}}. Pas vous ? Répondez FRAUD {{ref}} pour bloquer la carte.',
    de: 'Karte {{card}} verwendet{{#merchant}} bei {{merchant}}{{/merchant}}{{#amount}} über {{amount}}{{/amount}}. Nicht Sie? Antworten Sie FRAUD {{ref}}, um die Karte zu sperren.',
  },
}

const TOKEN = /\{\{\s*([#/]?)([^{}]*?)\s*\}\}/g
export const MAX_TEMPLATE_LENGTH = 1000

/** Every problem with a template for a kind; an empty list means it may be stored. */
export function templateProblems(kind: TemplateKind, text: string): string[] {
  const problems: string[] = []
  if (text.trim() === '') return ['the template is empty']
  if (text.length > MAX_TEMPLATE_LENGTH)
    problems.push(`the template is longer than ${MAX_TEMPLATE_LENGTH} characters`)
  // Control characters other than a line feed do not survive SMS gateways.
  if (/(?!\n)\p{Cc}/u.test(text)) problems.push('the template contains control characters')
  const open: string[] = []
  const used = new Set<string>()
  for (const m of text.matchAll(TOKEN)) {
    const [, mark, name] = m
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
      problems.push(
        `unknown placeholder {{${mark}${name}}} (known: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')})`,
      )
      continue
    }
    if (mark === '#') open.push(name)
    else if (mark === '/') {
      if (open.pop() !== name) problems.push(`section {{/${name}}} closes nothing open`)
    } else used.add(name)
  }
  for (const name of open) problems.push(`section {{#${name}}} is never closed`)
  const stray = text.replace(TOKEN, '')
  if (/\{\{|\}\}/.test(stray)) problems.push('unbalanced braces: write placeholders as {{name}}')
  const rule = KIND_RULES[kind]
  for (const p of rule.required) if (!used.has(p)) problems.push(`a ${kind} template needs {{${p}}}`)
  for (const p of rule.forbidden)
    if (used.has(p) || text.includes(`{{#${p}}}`))
      problems.push(`a ${kind} template may not contain {{${p}}}`)
  if (problems.length === 0)
    for (const check of rule.checks) {
      const p = check(text)
      if (p) problems.push(p)
    }
  return problems
}

/** Fills a valid template. Sections whose value is absent or empty disappear with their content. */
export function renderTemplate(text: string, values: TemplateValues): string {
  const sections = /\{\{\s*#([a-z]+)\s*\}\}([\s\S]*?)\{\{\s*\/\1\s*\}\}/g
  let out = text
  // Sections do not nest in practice; repeat so a section inside another one still resolves.
  for (let i = 0; i < 4 && sections.test(out); i++) {
    sections.lastIndex = 0
    out = out.replace(sections, (_m, name: string, body: string) => (values[name as Placeholder] ? body : ''))
  }
  return out
    .replace(TOKEN, (_m, _mark: string, name: string) => values[name as Placeholder] ?? '')
    .replace(/ {2,}/g, ' ')
}

/** Merchant names come from the AReq: keep them printable and short enough for one SMS. */
export function smsSafe(value: string | undefined, max = 40): string | undefined {
  if (value === undefined) return undefined
  const clean = value
    .normalize('NFC')
    .replace(/[\p{Cc}{}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  if (!clean) return undefined
  // Cut without an ellipsis character: '…' is not GSM-7 and would double the cost of the SMS.
  return clean.slice(0, max).trim()
}
