import QRCode from 'qrcode'

/**
 * A QR code as an SVG data URI: crisp at any size, allowed by `img-src data:` on the challenge page, and
 * rendered on the server so no page needs a QR library. Level M survives a glare spot on a shop screen.
 */
export async function qrSvgDataUri(text: string): Promise<string> {
  const svg = await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`
}
