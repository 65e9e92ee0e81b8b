/**
 * The counter walk shared by TDES and AES DUKPT: for each one-bit of the counter from the top, OR it into
 * a register and derive the next key from the previous one. With a `KeyPath`, the intermediate keys of
 * the previous walk are reused for the common prefix: a host decrypting one device's transactions in
 * order then pays about two derivation steps per KSN instead of one per counter bit.
 */
export interface KeyPath {
  registers: number[]
  keys: Buffer[]
}

export function walkCounter(
  initialKey: Buffer,
  counter: number,
  topBit: number,
  step: (key: Buffer, register: number) => Buffer,
  path?: KeyPath,
): Buffer {
  let key = initialKey
  let register = 0
  let depth = 0
  let reusing = path !== undefined
  for (let bit = topBit; bit > 0; bit >>>= 1) {
    if (!(counter & bit)) continue
    register = (register | bit) >>> 0
    if (reusing && path!.registers[depth] === register) {
      key = path!.keys[depth++]
      continue
    }
    reusing = false
    key = step(key, register)
    if (path) {
      path.registers.length = depth
      path.keys.length = depth
      path.registers.push(register)
      path.keys.push(key)
    }
    depth++
  }
  if (path) {
    path.registers.length = depth
    path.keys.length = depth
  }
  return key
}

/** A small least-recently-used map (Map keeps insertion order). */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>()
  constructor(private readonly capacity: number) {}

  getOrCreate(key: K, create: () => V): V {
    let value = this.map.get(key)
    if (value !== undefined) {
      this.map.delete(key)
    } else {
      value = create()
      if (this.map.size >= this.capacity) this.map.delete(this.map.keys().next().value as K)
    }
    this.map.set(key, value)
    return value
  }
}
