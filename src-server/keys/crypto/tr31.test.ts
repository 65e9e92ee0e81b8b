import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { toHex } from './bytes'
import { keyCheckValue } from './kcv'
import { pythonCryptographyAvailable, runOracle } from './oracle.test-helper'
import { checkValueBlock, parseTr31Header, unwrapTr31, wrapTr31, type Tr31Version } from './tr31'
import { hex, vectors } from './vectors.test-helper'

const header = (version: Tr31Version, keyUsage = 'P0', algorithm = 'T') => ({
  version,
  keyUsage,
  algorithm,
  modeOfUse: 'E',
  exportability: 'E',
})

describe('TR-31 known answers', () => {
  for (const v of vectors('tr31')) {
    it(`${v.description} (${v.source})`, () => {
      const result = unwrapTr31(hex(v.inputs.kbpk_hex), String(v.inputs.key_block))
      expect(result.header.text).toBe(v.expected.header)
      expect(toHex(result.key)).toBe(v.expected.clear_key_hex)
      if (v.expected.kcv) expect(toHex(keyCheckValue('tdes', result.key))).toBe(v.expected.kcv)
      for (const [id, data] of Object.entries((v.expected.optional_blocks ?? {}) as Record<string, string>)) {
        expect(result.optional[id]).toBe(data)
      }
    })
  }
})

describe('TR-31 wrap / unwrap', () => {
  const cases: [Tr31Version, number, string, number][] = [
    ['A', 16, 'T', 16],
    ['B', 16, 'T', 16],
    ['B', 24, 'T', 24],
    ['C', 24, 'T', 16],
    ['D', 16, 'A', 16],
    ['D', 32, 'A', 32],
    ['D', 32, 'T', 24],
  ]
  for (const [version, kbpkLength, algorithm, keyLength] of cases) {
    it(`round-trips version ${version}, ${kbpkLength * 8}-bit KBPK, ${algorithm} ${keyLength * 8}-bit key`, () => {
      const kbpk = randomBytes(kbpkLength)
      const key = randomBytes(keyLength)
      const block = wrapTr31({ kbpk, key, header: header(version, 'K0', algorithm) })
      expect(Number(block.slice(1, 5))).toBe(block.length)
      const result = unwrapTr31(kbpk, block)
      expect(result.key).toEqual(key)
      expect(result.header.keyUsage).toBe('K0')
    })
  }

  it('carries KS, IK, KC and KP optional blocks and pads the header with PB', () => {
    const kbpk = randomBytes(32)
    const key = randomBytes(16)
    const block = wrapTr31({
      kbpk,
      key,
      header: {
        ...header('D', 'B1', 'A'),
        modeOfUse: 'X',
        optionalBlocks: [
          { id: 'IK', data: '1234567890123456' },
          checkValueBlock('KC', 'aes', key),
          checkValueBlock('KP', 'aes', kbpk),
        ],
      },
    })
    const result = unwrapTr31(kbpk, block)
    expect(result.header.text.length % 16).toBe(0)
    expect(result.header.optionalBlocks.map((b) => b.id)).toEqual(['IK', 'KC', 'KP', 'PB'])
    expect(result.optional.IK).toBe('1234567890123456')
    expect(result.optional.KC).toBe(`01${toHex(keyCheckValue('aes', key, 'cmac'))}`)

    const tdesBlock = wrapTr31({
      kbpk: hex('1D22BF32387C600AD97F9B97A51311AC'),
      key: hex('E8BC63E5479455E26577F715D587FE68'),
      header: {
        ...header('B', 'B0'),
        modeOfUse: 'X',
        optionalBlocks: [{ id: 'KS', data: '00604B120F9292800000' }],
      },
    })
    expect(tdesBlock.slice(0, 16 + 24)).toMatch(/^B0104B0TX00E0100KS1800604B120F9292800000$/)
  })

  it('hides the key length when asked', () => {
    const kbpk = randomBytes(16)
    const block = wrapTr31({ kbpk, key: randomBytes(8), header: header('B'), maskedKeyLength: 24 })
    expect(block.length).toBe(16 + 2 * 32 + 16)
    expect(unwrapTr31(kbpk, block).key).toHaveLength(8)
  })

  it('extended-length optional blocks round-trip', () => {
    const kbpk = randomBytes(16)
    const data = 'X'.repeat(300)
    const block = wrapTr31({
      kbpk,
      key: randomBytes(16),
      header: { ...header('D', 'P0', 'A'), optionalBlocks: [{ id: 'LB', data }] },
    })
    expect(block.slice(16, 26)).toBe('LB00020136')
    expect(unwrapTr31(kbpk, block).optional.LB).toBe(data)
  })

  it.skipIf(!pythonCryptographyAvailable)(
    'the python3-cryptography oracle unwraps what we wrap (A, B, C, D)',
    () => {
      const made = (['A', 'B', 'C', 'D'] as Tr31Version[]).flatMap((version) =>
        [16, 24, ...(version === 'D' ? [32] : [])].map((kbpkLength) => {
          const kbpk = randomBytes(kbpkLength)
          const key = randomBytes(version === 'D' ? 16 : 16)
          const block = wrapTr31({ kbpk, key, header: header(version, 'D0', version === 'D' ? 'A' : 'T') })
          return { kbpk: toHex(kbpk), block, key: toHex(key) }
        }),
      )
      const results = runOracle<{ ok: boolean; key: string }[]>(
        `
out = []
for c in json.load(sys.stdin):
    kbpk, blk = bytes.fromhex(c['kbpk']), c['block']
    pos = 16
    for _ in range(int(blk[12:14])):
        n = int(blk[pos + 2:pos + 4], 16)
        if n == 0:
            ll = int(blk[pos + 4:pos + 6], 16); n = int(blk[pos + 6:pos + 6 + 2 * ll], 16)
        pos += n
    hdr, v = blk[:pos].encode(), blk[0]
    if v in 'AC':
        kbek, kbak = X(kbpk, b'\\x45' * len(kbpk)), X(kbpk, b'\\x4D' * len(kbpk))
        enc, mac = bytes.fromhex(blk[pos:-8]), bytes.fromhex(blk[-8:])
        s = bytes(8); e = Cipher(T(kbak), modes.ECB()).encryptor()
        for i in range(0, len(hdr + enc), 8): s = e.update(X(s, (hdr + enc)[i:i + 8]))
        ok = s[:4] == mac
        clear = Cipher(T(kbek), modes.CBC(hdr[:8])).decryptor().update(enc)
    else:
        aes = v == 'D'
        alg_id = ({16: 2, 24: 3, 32: 4} if aes else {16: 0, 24: 1})[len(kbpk)]
        nblk = -(-len(kbpk) // (16 if aes else 8))
        mk = (lambda k: algorithms.AES(k)) if aes else T
        def kdf(use):
            return b''.join(cmac(mk(kbpk), bytes([c]) + use + b'\\x00' + alg_id.to_bytes(2, 'big')
                                 + (len(kbpk) * 8).to_bytes(2, 'big')) for c in range(1, nblk + 1))[:len(kbpk)]
        kbek, kbak = kdf(b'\\x00\\x00'), kdf(b'\\x00\\x01')
        ml = 32 if aes else 16
        enc, mac = bytes.fromhex(blk[pos:-ml]), bytes.fromhex(blk[-ml:])
        clear = Cipher(mk(kbek), modes.CBC(mac)).decryptor().update(enc)
        ok = cmac(mk(kbak), hdr + clear) == mac
    kl = int.from_bytes(clear[:2], 'big') // 8
    out.append({'ok': ok, 'key': clear[2:2 + kl].hex().upper()})
print(json.dumps(out))
`,
        made,
      )
      expect(results).toEqual(made.map((m) => ({ ok: true, key: m.key })))
    },
  )
})

describe('TR-31 rejections', () => {
  const kbpk = hex('89E88CF7931444F334BD7547FC3F380C')
  const good = String(vectors('tr31')[0].inputs.key_block)
  const goodB = String(vectors('tr31')[1].inputs.key_block)
  const kbpkB = hex(String(vectors('tr31')[1].inputs.kbpk_hex))

  it('a tampered MAC, header or ciphertext fails MAC verification', () => {
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === '0' ? '1' : '0') + s.slice(i + 1)
    expect(() => unwrapTr31(kbpk, flip(good, good.length - 1))).toThrow(/MAC verification failed/)
    expect(() => unwrapTr31(kbpk, good.replace('P0TE', 'P0TD'))).toThrow(/MAC verification failed/)
    expect(() => unwrapTr31(kbpkB, flip(goodB, 20))).toThrow(/MAC verification failed/)
    expect(() => unwrapTr31(hex('00112233445566778899AABBCCDDEEFF'), good)).toThrow(/MAC verification failed/)
  })

  it('a length field that does not match, a truncated block or bad characters are rejected', () => {
    expect(() => unwrapTr31(kbpk, good.slice(0, -2))).toThrow(/length field says 72 but the block has 70/)
    expect(() => unwrapTr31(kbpk, 'A0070' + good.slice(5, -2))).toThrow(/not a non-zero multiple|multiple/)
    expect(() => unwrapTr31(kbpk, good.slice(0, 16) + good.slice(16).toLowerCase())).toThrow(/upper-case hex/)
    expect(() => unwrapTr31(kbpk, 'A00')).toThrow(/at least 16 characters/)
    expect(() => unwrapTr31(kbpk, 'AXX72' + good.slice(5))).toThrow(/4 digits/)
  })

  it('unknown and unsupported versions get a clear error', () => {
    expect(() => unwrapTr31(kbpk, 'Z' + good.slice(1))).toThrow(/unknown TR-31 version "Z"/)
    expect(() => unwrapTr31(kbpk, 'E' + good.slice(1))).toThrow(/version E \(ISO 20038\) is not supported/)
    expect(() => parseTr31Header('B0024P0TE00E0100KS99001')).toThrow(/runs past the end/)
  })

  it('refuses a wrapping key weaker than the wrapped key, both ways', () => {
    expect(() =>
      wrapTr31({ kbpk: randomBytes(16), key: randomBytes(16), header: header('B', 'P0', 'A') }),
    ).toThrow(/KBPK \(80-bit strength\) is weaker than the wrapped key \(128-bit/)
    expect(() =>
      wrapTr31({ kbpk: randomBytes(16), key: randomBytes(32), header: header('D', 'P0', 'A') }),
    ).toThrow(/weaker/)
    expect(() => wrapTr31({ kbpk: randomBytes(16), key: randomBytes(24), header: header('B') })).toThrow(
      /weaker/,
    )
  })

  it('a KC block that does not match the key is rejected', () => {
    const k = randomBytes(16)
    const block = wrapTr31({
      kbpk: kbpkB,
      key: k,
      header: { ...header('B'), optionalBlocks: [{ id: 'KC', data: '00000000' }] },
    })
    expect(() => unwrapTr31(kbpkB, block)).toThrow(/KC does not match the wrapped key/)
  })
})
