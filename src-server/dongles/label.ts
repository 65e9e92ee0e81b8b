import QRCode from 'qrcode'

/** What a token label shows. Deliberately no seed field: a label is public, it sits on the token. */
export interface TokenLabel {
  serial: string
  model: string
  manufacturer?: string
}

export interface LabelOptions {
  /** Label stock in millimetres; the default is a common 62 × 29 mm thermal label. */
  widthMm?: number
  heightMm?: number
  /** For tests that read the page content; production labels are compressed. */
  compress?: boolean
}

const POINTS_PER_MM = 72 / 25.4

/** Renders a one-page PDF label: serial and model as text plus a QR code of the serial, drawn as vectors. */
export async function renderTokenLabel(label: TokenLabel, options: LabelOptions = {}): Promise<Buffer> {
  if (!label.serial || label.serial.length > 64) throw new RangeError('a label serial has 1 to 64 characters')
  const width = (options.widthMm ?? 62) * POINTS_PER_MM
  const height = (options.heightMm ?? 29) * POINTS_PER_MM
  const margin = 2 * POINTS_PER_MM
  // Loaded on first use: pdfkit and its font tables cost several MB the server needs only for PDFs.
  const { default: PDFDocument } = await import('pdfkit')
  const doc = new PDFDocument({
    size: [width, height],
    margin: 0,
    compress: options.compress ?? true,
    info: { Title: `Token ${label.serial}`, Producer: 'issuer-ops-suite' },
  })
  const chunks: Buffer[] = []
  doc.on('data', (c: Buffer) => chunks.push(c))
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)))
    doc.on('error', reject)
  })

  const qr = QRCode.create(label.serial, { errorCorrectionLevel: 'M' })
  const modules = qr.modules.size
  const qrSide = height - 2 * margin
  const cell = qrSide / (modules + 2) // one module of quiet zone each side
  for (let row = 0; row < modules; row++) {
    for (let col = 0; col < modules; col++) {
      if (qr.modules.get(row, col)) doc.rect(margin + (col + 1) * cell, margin + (row + 1) * cell, cell, cell)
    }
  }
  doc.fill('black')

  const textX = margin * 2 + qrSide
  const textWidth = width - textX - margin
  doc
    .font('Helvetica-Bold')
    .fontSize(11)
    .text(label.serial, textX, margin + 4, { width: textWidth })
  doc.font('Helvetica').fontSize(8).text(label.model, { width: textWidth })
  if (label.manufacturer) doc.text(label.manufacturer, { width: textWidth })
  doc.end()
  return done
}
