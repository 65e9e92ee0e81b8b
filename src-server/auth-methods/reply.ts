/**
 * Reading what a cardholder typed on a phone. Handsets add things people do not see (zero-width and
 * direction marks, non-breaking spaces, full-width letters from an Asian keyboard, a trailing full stop
 * from auto-correct), so every SMS answer is normalised the same way before any keyword or reference is
 * looked at.
 */
// Format characters (zero-width, direction marks, BOM), stray combining marks after NFKC, Hangul fillers.
const INVISIBLE = /[\p{Cf}\p{Mn}\u115f\u1160\u3164]/gu

/** NFKC, invisible characters removed, upper case, punctuation as spaces, one space between words. */
export function normaliseReply(text: string): string {
  return text
    .normalize('NFKC')
    .replace(INVISIBLE, '')
    .toUpperCase()
    .replace(/[.,;:!?¡¿"'«»“”‘’()#*-]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
}

const APPROVE = new Set(['YES', 'Y', 'OK', 'OUI', 'JA', 'SI', 'SÍ'])
const REFUSE = new Set(['NO', 'N', 'NON', 'NEIN', 'NEE'])

export interface ParsedReply {
  /** `approve` for YES-like words, `refuse` for NO-like words, `none` when the reply has no keyword. */
  verdict: 'approve' | 'refuse' | 'none'
  /** The word that followed the keyword (or the whole reply without one), when it can be a reference. */
  reference?: string
}

export const REFERENCE = /^[A-Z0-9]{2,16}$/

/** `YES K7QD`, `no k7qd`, `K7QD`, `yes`: the verdict and the reference, if any. */
export function parseReply(text: string): ParsedReply {
  const words = normaliseReply(text).split(' ').filter(Boolean)
  if (words.length === 0 || words.length > 2) return { verdict: 'none' }
  const [first, second] = words
  const verdict = APPROVE.has(first) ? 'approve' : REFUSE.has(first) ? 'refuse' : 'none'
  if (verdict === 'none')
    return words.length === 1 && REFERENCE.test(first) ? { verdict, reference: first } : { verdict: 'none' }
  if (second === undefined) return { verdict }
  return REFERENCE.test(second) ? { verdict, reference: second } : { verdict: 'none' }
}

/** `FRAUD K7QD` (any case, any spacing): the reference, or undefined when the reply is not a fraud report. */
export function parseKeywordReply(keyword: string, text: string): { reference?: string } | undefined {
  const words = normaliseReply(text).split(' ').filter(Boolean)
  if (words[0] !== keyword || words.length > 2) return undefined
  if (words.length === 1) return {}
  return REFERENCE.test(words[1]) ? { reference: words[1] } : undefined
}

/** Short references: no 0/O, 1/I/L or 5/S pairs, so a reference read off a screen is typed back right. */
const REFERENCE_ALPHABET = 'ABCDEFGHJKMNPQRTUVWXY2346789'

export function newReference(length: number, draw: (max: number) => number): string {
  if (!Number.isInteger(length) || length < 2 || length > 16)
    throw new RangeError('a reference has 2 to 16 characters')
  let ref = ''
  for (let i = 0; i < length; i++) ref += REFERENCE_ALPHABET[draw(REFERENCE_ALPHABET.length)]
  return ref
}
