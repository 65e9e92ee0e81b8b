import type { ReportColumn } from './schemas'

export interface PdfReport {
  title: string
  period: string
  generatedAt: string
  columns: readonly ReportColumn[]
  rows: readonly Record<string, unknown>[]
  /** Printed under the table when rows were left out. */
  footnote?: string
}

const MARGIN = 36
const FONT_SIZE = 7
const ROW_HEIGHT = 11

/**
 * A landscape A4 table: title, period, generation time, then one line per row with every cell cut to its
 * column (ellipsis), the header repeated on each page. Uses pdfkit's built-in Helvetica, so no font file
 * is needed; text outside WinAnsi is replaced by pdfkit.
 */
export async function toPdf(report: PdfReport): Promise<Buffer> {
  // Loaded on first use: pdfkit and its font tables cost several MB the server needs only for PDFs.
  const { default: PDFDocument } = await import('pdfkit')
  const doc = new PDFDocument({
    size: 'A4',
    layout: 'landscape',
    margin: MARGIN,
    info: { Title: report.title },
  })
  const chunks: Buffer[] = []
  doc.on('data', (chunk: Buffer) => chunks.push(chunk))
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)))
    doc.on('error', reject)
  })

  const width = doc.page.width - 2 * MARGIN
  const columnWidth = width / Math.max(report.columns.length, 1)
  const bottom = doc.page.height - MARGIN

  const line = (cells: string[], bold: boolean) => {
    if (doc.y + ROW_HEIGHT > bottom) {
      doc.addPage()
      header()
    }
    const y = doc.y
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(FONT_SIZE)
    cells.forEach((cell, i) => {
      doc.text(cell, MARGIN + i * columnWidth, y, {
        width: columnWidth - 4,
        height: ROW_HEIGHT,
        lineBreak: false,
        ellipsis: true,
      })
    })
    doc.x = MARGIN
    doc.y = y + ROW_HEIGHT
  }
  const header = () => {
    line(
      report.columns.map((c) => c.label),
      true,
    )
    doc
      .moveTo(MARGIN, doc.y - 2)
      .lineTo(MARGIN + width, doc.y - 2)
      .lineWidth(0.5)
      .stroke()
  }

  doc.font('Helvetica-Bold').fontSize(14).text(report.title)
  doc.font('Helvetica').fontSize(9).text(`Period: ${report.period}`).text(`Generated: ${report.generatedAt}`)
  doc.moveDown()
  header()
  if (report.rows.length === 0) line(['No rows in this period.'], false)
  for (const row of report.rows) {
    line(
      report.columns.map((c) => (row[c.key] === null || row[c.key] === undefined ? '' : String(row[c.key]))),
      false,
    )
  }
  if (report.footnote) {
    doc.moveDown()
    doc.font('Helvetica-Oblique').fontSize(8).text(report.footnote, MARGIN)
  }
  doc.end()
  return done
}
