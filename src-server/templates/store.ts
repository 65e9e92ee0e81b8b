import type { AuditLog } from '../audit/audit-log'
import { HttpProblem } from '../http/problem'
import type { Db } from '../store/db'
import { forSending } from '../sms/redact'
import { analyzeText, type TextAnalysis } from '../../hardware/gsm/pdu'
import {
  DEFAULT_TEMPLATES,
  LANGUAGES,
  renderTemplate,
  TEMPLATE_KINDS,
  templateProblems,
  type TemplateKind,
  type TemplateValues,
} from './model'

export interface TemplateView {
  issuerId: number
  kind: TemplateKind
  language: string
  text: string
  /** False while the built-in text is in use. */
  custom: boolean
  updatedAt?: string
  updatedBy?: string
}

interface Row {
  issuer_id: number
  kind: TemplateKind
  language: string
  text: string
  updated_at: string
  updated_by: string
}

/** Sample values for previews: the longest a real message would carry, so the segment count is honest. */
export function sampleValues(codeLength = 6): Required<TemplateValues> {
  return {
    code: '8'.repeat(codeLength),
    ref: 'K7QD',
    amount: 'EUR 1234.56',
    merchant: 'Example Merchant Online Store Ltd',
    card: '*1234',
  }
}

export interface Preview extends TextAnalysis {
  text: string
  problems: string[]
}

/**
 * Templates per issuer, kind and language. Lookups fall back from the issuer's text in the cardholder's
 * language to the built-in text in that language, then to English (issuer's, then built-in).
 */
export class TemplateStore {
  private readonly one

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
  ) {
    this.one = db
      .prepare('SELECT text FROM sms_templates WHERE issuer_id = ? AND kind = ? AND language = ?')
      .pluck()
  }

  textFor(issuerId: number | undefined, kind: TemplateKind, language: string): string {
    const lang = language.toLowerCase()
    const stored = (l: string) =>
      issuerId === undefined ? undefined : (this.one.get(issuerId, kind, l) as string | undefined)
    const builtIn = DEFAULT_TEMPLATES[kind] as Record<string, string>
    return stored(lang) ?? builtIn[lang] ?? stored('en') ?? builtIn.en
  }

  /** The message text; the code (when there is one) is marked secret so the console shows it masked. */
  render(issuerId: number | undefined, kind: TemplateKind, language: string, values: TemplateValues): string {
    return renderTemplate(this.textFor(issuerId, kind, language), values)
  }

  list(issuerId: number): TemplateView[] {
    const rows = this.db.prepare('SELECT * FROM sms_templates WHERE issuer_id = ?').all(issuerId) as Row[]
    const languages = new Set<string>([...LANGUAGES, ...rows.map((r) => r.language)])
    const views: TemplateView[] = []
    for (const kind of TEMPLATE_KINDS)
      for (const language of languages) {
        const row = rows.find((r) => r.kind === kind && r.language === language)
        if (row)
          views.push({
            issuerId,
            kind,
            language,
            text: row.text,
            custom: true,
            updatedAt: row.updated_at,
            updatedBy: row.updated_by,
          })
        else
          views.push({
            issuerId,
            kind,
            language,
            text: this.textFor(undefined, kind, language),
            custom: false,
          })
      }
    return views
  }

  save(issuerId: number, kind: TemplateKind, language: string, text: string, actor: string): TemplateView {
    const problems = templateProblems(kind, text)
    if (problems.length)
      throw new HttpProblem(422, 'Invalid template', problems.join('; '), {
        errors: problems.map((message) => ({ path: 'text', message })),
      })
    const now = new Date().toISOString()
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO sms_templates (issuer_id, kind, language, text, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (issuer_id, kind, language) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at,
             updated_by = excluded.updated_by`,
        )
        .run(issuerId, kind, language, text, now, actor)
      this.audit.record({
        actor,
        action: 'template.save',
        target: `issuer:${issuerId}`,
        details: { kind, language, text },
      })
    })()
    return { issuerId, kind, language, text, custom: true, updatedAt: now, updatedBy: actor }
  }

  /** Back to the built-in text. */
  reset(issuerId: number, kind: TemplateKind, language: string, actor: string): void {
    this.db.transaction(() => {
      const info = this.db
        .prepare('DELETE FROM sms_templates WHERE issuer_id = ? AND kind = ? AND language = ?')
        .run(issuerId, kind, language)
      if (info.changes)
        this.audit.record({
          actor,
          action: 'template.reset',
          target: `issuer:${issuerId}`,
          details: { kind, language },
        })
    })()
  }

  /** What a template would send with sample values, its alphabet and its number of SMS parts. */
  preview(kind: TemplateKind, text: string, values: TemplateValues = sampleValues()): Preview {
    const problems = templateProblems(kind, text)
    const rendered = problems.length ? text : forSending(renderTemplate(text, values))
    return { text: rendered, problems, ...analyzeText(rendered) }
  }
}
