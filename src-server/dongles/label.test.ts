import QRCode from 'qrcode'
import { describe, expect, it } from 'vitest'
import { renderTokenLabel } from './label'

/** The text runs of an uncompressed pdfkit page: TJ arrays of hex strings, split where kerning applies. */
function textRuns(pdf: string): string[] {
  return [...pdf.matchAll(/\[([^\]]*)\] TJ/g)].map(([, parts]) =>
    [...parts.matchAll(/<([0-9a-f]*)>/g)]
      .map(([, hex]) => Buffer.from(hex, 'hex').toString('latin1'))
      .join(''),
  )
}

describe('token label', () => {
  it('is a one-page PDF with the serial, the model and a QR code of the serial', async () => {
    const pdf = await renderTokenLabel({ serial: 'OTP-00012345', model: 'Acme c200' }, { compress: false })
    const text = pdf.toString('latin1')
    expect(text.startsWith('%PDF-')).toBe(true)
    expect(text).toContain('/Count 1')
    expect(textRuns(text)).toEqual(['OTP-00012345', 'Acme c200'])
    const qr = QRCode.create('OTP-00012345', { errorCorrectionLevel: 'M' })
    let dark = 0
    for (let i = 0; i < qr.modules.size ** 2; i++) dark += qr.modules.data[i] ? 1 : 0
    expect(text.match(/ re\n/g)?.length).toBe(dark)
  })

  it('has no field for a secret and refuses an empty or oversized serial', async () => {
    await expect(async () => renderTokenLabel({ serial: '', model: 'x' })).rejects.toThrow(/1 to 64/)
    await expect(async () => renderTokenLabel({ serial: 'x'.repeat(65), model: 'x' })).rejects.toThrow(
      /1 to 64/,
    )
    const compressed = await renderTokenLabel({ serial: 'S1', model: 'M' })
    expect(compressed.subarray(0, 5).toString()).toBe('%PDF-')
  })
})
