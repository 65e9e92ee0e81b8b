/**
 * The one serialiser for every message the ACS emits. EMV: an optional data element is left out, never
 * sent empty; SDKs and 3DS Servers answer `""` (and `null`, `{}`, `[]`) with Erro 201/203. Members whose
 * value is `undefined` are simply omitted; any empty value is a programming error and throws.
 */
export class EmptyElementError extends Error {
  constructor(readonly path: string) {
    super(`message element "${path}" is empty; leave it out instead`)
    this.name = 'EmptyElementError'
  }
}

export function assertNoEmptyElements(value: unknown, path = ''): void {
  if (value === null || value === '') throw new EmptyElementError(path || '(root)')
  if (Array.isArray(value)) {
    if (value.length === 0) throw new EmptyElementError(path)
    value.forEach((v, i) => assertNoEmptyElements(v, `${path}[${i}]`))
    return
  }
  if (typeof value === 'object') {
    let any = false
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue
      any = true
      assertNoEmptyElements(v, path ? `${path}.${k}` : k)
    }
    if (!any) throw new EmptyElementError(path || '(root)')
  }
}

export function serializeMessage(message: object): string {
  assertNoEmptyElements(message)
  return JSON.stringify(message)
}
