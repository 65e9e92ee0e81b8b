import { z } from 'zod'
import { actorOf } from '../app'
import type { ServerModule } from '../module'
import { ExportFormat, ReportInfo, ReportKind, ReportPage, ReportQuery } from './schemas'

const KindParam = z.object({ kind: ReportKind })

export const reportsModule: ServerModule = {
  name: 'reports',
  register(api, { reports, audit }) {
    api.route({
      method: 'get',
      path: '/api/reports',
      summary: 'The reports, their filters and columns, and whether each can run on this database',
      tags: ['reports'],
      auth: { permission: 'reports.read' },
      responses: { 200: z.array(ReportInfo) },
      handler: () => reports.list(),
    })
    api.route({
      method: 'get',
      path: '/api/reports/:kind',
      summary: 'One page of a report over a range of local calendar days (offset paging)',
      tags: ['reports'],
      auth: { permission: 'reports.read' },
      params: KindParam,
      query: ReportQuery,
      responses: { 200: ReportPage, 409: null },
      handler: (_ctx, { params, query }) => reports.page(params.kind, query),
    })
    api.route({
      method: 'get',
      path: '/api/reports/:kind/export',
      summary: 'A report as a CSV (formula-safe) or PDF file (audited)',
      tags: ['reports'],
      auth: { permission: 'reports.read' },
      params: KindParam,
      query: ReportQuery.and(z.object({ format: ExportFormat })),
      responses: { 200: null, 409: null },
      async handler(ctx, { params, query }) {
        const file = await reports.export(params.kind, query, query.format)
        // Exports leave the system: who took which report for which period is kept in the audit log.
        audit.record({
          actor: actorOf(ctx),
          action: 'report.export',
          target: `report:${params.kind}`,
          details: { from: query.from, to: query.to, format: query.format, rows: file.rows },
        })
        ctx.type = file.contentType
        ctx.attachment(file.fileName)
        return file.body
      },
    })
  },
  start({ dailyReports }) {
    dailyReports.start()
  },
}
