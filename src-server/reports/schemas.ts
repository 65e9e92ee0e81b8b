/** The reports API's shapes; the console imports their types only. */
import { z } from 'zod'

export const REPORT_KINDS = [
  'registration-attempts',
  'incoming-verification',
  'authentication-attempts',
  'authentication-statistics',
  'fraud',
] as const
export const ReportKind = z.enum(REPORT_KINDS)
export type ReportKind = z.infer<typeof ReportKind>

export const ReportFilterSpec = z.object({
  name: z.string(),
  label: z.string(),
  /** Allowed values of a choice filter; absent for free text. */
  options: z.array(z.string()).optional(),
})
export type ReportFilterSpec = z.infer<typeof ReportFilterSpec>

export const ReportColumn = z.object({ key: z.string(), label: z.string() })
export type ReportColumn = z.infer<typeof ReportColumn>

export const ReportInfo = z.object({
  kind: ReportKind,
  title: z.string(),
  description: z.string(),
  filters: z.array(ReportFilterSpec),
  columns: z.array(ReportColumn),
  /** False when the tables it reads do not exist in this database; `unavailableReason` says why. */
  available: z.boolean(),
  unavailableReason: z.string().optional(),
})
export type ReportInfo = z.infer<typeof ReportInfo>

const Day = z.iso.date('a date as YYYY-MM-DD')

export const ReportQuery = z
  .object({
    from: Day,
    to: Day,
    /** Choice and text filters, by the names the report declares. */
    status: z.string().max(40).optional(),
    outcome: z.string().max(40).optional(),
    channel: z.string().max(10).optional(),
    brand: z.string().max(20).optional(),
    number: z.string().max(20).optional(),
    offset: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .refine((q) => q.from <= q.to, { path: ['to'], message: 'must not be before the start date' })
export type ReportQuery = z.infer<typeof ReportQuery>

export const ExportFormat = z.enum(['csv', 'pdf'])
export type ExportFormat = z.infer<typeof ExportFormat>

export const ReportCell = z.union([z.string(), z.number(), z.null()])
export const ReportPage = z.object({
  kind: ReportKind,
  title: z.string(),
  from: z.string(),
  to: z.string(),
  columns: z.array(ReportColumn),
  rows: z.array(z.record(z.string(), ReportCell)),
  nextOffset: z.number().optional(),
})
export type ReportPage = z.infer<typeof ReportPage>
