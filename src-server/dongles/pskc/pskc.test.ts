import { execFileSync } from 'node:child_process'
import { createCipheriv, createHmac, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { totp } from '../../otp/oath'
import { referenceVectors } from '../../otp/reference-vectors'
import { newTokenState, verifyCode } from '../../otp/token'
import { exportPskc, exportPskcChunks } from './export'
import { importPskc } from './import'
import { sampleSeeds } from './seeds.fixture'

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')
const RFC_SECRET = '3132333435363738393031323334353637383930'
const PRESHARED = Buffer.from('12345678901234567890123456789012', 'hex')
const work = mkdtempSync(join(tmpdir(), 'pskc-test-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

interface PskcVector {
  description: string
  inputs: { preshared_key_hex?: string; password?: string }
  expected: { secret_hex?: string; algorithm?: string; response_length?: number; error?: string }
}

async function* chunked(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8')
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
}

describe('RFC 6030 figures (vectors.json → pskc)', () => {
  const vectors = referenceVectors<PskcVector>('pskc')

  it('Figure 6 (pre-shared key) imports to the RFC 4226 secret', async () => {
    const v = vectors.find((x) => x.description.includes('Figure 6'))!
    const r = await importPskc(fixture('rfc6030-figure6.pskcxml'), {
      preSharedKey: Buffer.from(v.inputs.preshared_key_hex!, 'hex'),
    })
    expect(r.errors).toEqual([])
    expect(r.seeds).toHaveLength(1)
    expect(r.seeds[0].secret.toString('hex')).toBe(v.expected.secret_hex)
    expect(r.seeds[0]).toMatchObject({
      serial: '987654321',
      kind: 'hotp',
      digits: v.expected.response_length,
    })
  })

  it('Figure 7 (PBKDF2 password) imports to the RFC 4226 secret', async () => {
    const v = vectors.find((x) => x.description.startsWith('RFC 6030 Figure 7'))!
    const r = await importPskc(fixture('rfc6030-figure7.pskcxml'), { password: v.inputs.password })
    expect(r.ok).toBe(true)
    expect(r.seeds[0].secret.toString('hex')).toBe(v.expected.secret_hex)
    expect(r.seeds[0]).toMatchObject({ manufacturer: 'TokenVendorAcme', issuer: 'Example-Issuer', digits: 8 })
  })

  it('Figure 7 with a wrong password fails and yields no secret', async () => {
    const v = vectors.find((x) => x.description.startsWith('Negative'))!
    const r = await importPskc(fixture('rfc6030-figure7.pskcxml'), { password: v.inputs.password })
    expect(r.ok).toBe(false)
    expect(r.seeds).toEqual([])
    expect(r.errors[0]).toMatchObject({ element: 'MACMethod' })
    expect(r.errors[0].message).toMatch(/wrong key or password/)
  })

  it('Figure 5 (plain, with a PIN key) imports the HOTP key and skips the PIN with a warning', async () => {
    const r = await importPskc(fixture('rfc6030-figure5.pskcxml'))
    expect(r.ok).toBe(true)
    expect(r.seeds.map((s) => s.secret.toString('hex'))).toEqual([RFC_SECRET])
    expect(r.warnings).toHaveLength(1)
    expect(r.warnings[0].message).toMatch(/pin is not an OTP key/)
  })

  it('Figure 2 (4-byte secret) is refused under the 128-bit rule and accepted as a legacy import', async () => {
    const strict = await importPskc(fixture('rfc6030-figure2.pskcxml'))
    expect(strict.ok).toBe(false)
    expect(strict.errors[0]).toMatchObject({ line: 6 })
    expect(strict.errors[0].message).toMatch(/at least 16/)
    const legacy = await importPskc(fixture('rfc6030-figure2.pskcxml'), { minSecretBytes: 4 })
    expect(legacy.seeds[0].secret.toString()).toBe('1234')
  })

  it('asks for the key or password a protected file needs', async () => {
    const f6 = await importPskc(fixture('rfc6030-figure6.pskcxml'))
    expect(f6.errors[0].message).toMatch(/pre-shared key/)
    const f7 = await importPskc(fixture('rfc6030-figure7.pskcxml'))
    expect(f7.errors[0].message).toMatch(/password/)
  })
})

describe('algorithm URIs and TOTP drift', () => {
  it('reads the "pskc#hotp" spelling of the HOTP algorithm as HOTP', async () => {
    const r = await importPskc(fixture('pskc-hash-hotp.pskcxml'))
    expect(r.errors).toEqual([])
    expect(r.seeds).toHaveLength(1)
    expect(r.seeds[0]).toMatchObject({ serial: 'HASHHOTP01', kind: 'hotp', digits: 8, counter: 0 })
    expect(r.seeds[0].secret.toString('hex')).toBe(RFC_SECRET)
  })

  it('reads TimeDrift into driftSteps: a code 4 steps ahead then verifies', async () => {
    const r = await importPskc(fixture('pskc-totp-drift.pskcxml'))
    expect(r.errors).toEqual([])
    const [seed] = r.seeds
    expect(seed).toMatchObject({ serial: 'DRIFT0001', kind: 'totp', period: 30, driftSteps: 4 })
    const token = {
      kind: 'totp' as const,
      secret: seed.secret,
      algorithm: seed.algorithm,
      digits: 6,
      period: 30,
      t0: 0,
    }
    const now = 1_700_000_000_000
    const ahead = totp(seed.secret, now / 1000 + 4 * 30, { algorithm: 'SHA1', digits: 6, period: 30, t0: 0 })
    const state = { ...newTokenState(), driftSteps: seed.driftSteps! }
    expect(verifyCode(token, state, ahead, now).accepted).toBe(true)
    // Without the drift the same code is outside the ±2-step window.
    expect(verifyCode(token, newTokenState(), ahead, now).accepted).toBe(false)
  })

  it('reads a negative drift, and refuses one that is not an integer or absurd, naming entry and line', async () => {
    const xml = fixture('pskc-totp-drift.pskcxml')
    const withDrift = (value: string) =>
      importPskc(xml.replace('<PlainValue>4</PlainValue>', `<PlainValue>${value}</PlainValue>`))
    expect((await withDrift('-3')).seeds[0].driftSteps).toBe(-3)
    const line = xml.split('\n').findIndex((l) => l.includes('<KeyPackage>')) + 1
    for (const [value, element, message] of [
      ['four', 'KeyPackage #1/Key/Data/TimeDrift/PlainValue', /not an integer/],
      ['1.5', 'KeyPackage #1/Key/Data/TimeDrift/PlainValue', /not an integer/],
      ['10001', 'KeyPackage #1/Key/Data/TimeDrift', /beyond ±10000/],
      ['-99999999', 'KeyPackage #1/Key/Data/TimeDrift', /beyond ±10000/],
    ] as const) {
      const r = await withDrift(value)
      expect(r.ok, value).toBe(false)
      expect(r.seeds).toEqual([])
      expect(r.errors).toEqual([{ line, element, message: expect.stringMatching(message) }])
    }
  })

  it('exports driftSteps as TimeDrift: our import and python3-pskc read it back', async () => {
    const list = sampleSeeds(4).map((s, i) =>
      s.kind === 'totp' ? { ...s, driftSteps: i === 1 ? 4 : -3 } : s,
    )
    const xml = exportPskc(list, { password: 'correct horse', iterations: 1000 })
    const r = await importPskc(xml, { password: 'correct horse' })
    expect(r.errors).toEqual([])
    expect(r.seeds).toEqual(list)
    const file = join(work, 'drift.pskcxml')
    writeFileSync(file, xml)
    const csv = execFileSync('pskc2csv', ['-p', 'correct horse', '-c', 'serial,time_drift', file], {
      encoding: 'utf8',
    })
    expect(csv.trim().split(/\r?\n/).slice(1)).toEqual(list.map((s) => `${s.serial},${s.driftSteps ?? ''}`))
  })
})

describe('hostile and broken files', () => {
  const fig6 = fixture('rfc6030-figure6.pskcxml')
  const rejects = async (xml: string, pattern: RegExp, options = {}) => {
    const r = await importPskc(xml, { preSharedKey: PRESHARED, ...options })
    expect(r.ok).toBe(false)
    expect(r.seeds).toEqual([])
    expect(r.errors.map((e) => `${e.element ?? ''}: ${e.message}`).join('\n')).toMatch(pattern)
    return r
  }

  it('refuses an external entity (XXE) without reading it', async () => {
    const xxe = fig6
      .replace(
        '<KeyContainer',
        '<!DOCTYPE KeyContainer [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<KeyContainer',
      )
      .replace('<Issuer>Issuer</Issuer>', '<Issuer>&xxe;</Issuer>')
    const r = await rejects(xxe, /DOCTYPE and entity declarations are not allowed/)
    expect(r.errors[0].line).toBe(4)
  })

  it('refuses entity expansion (billion laughs)', async () => {
    const lol = Array.from({ length: 9 }, (_, i) =>
      i === 0 ? '<!ENTITY lol0 "lol">' : `<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`,
    ).join('')
    await rejects(
      `<?xml version="1.0"?><!DOCTYPE lolz [${lol}]><KeyContainer Version="1.0">&lol8;</KeyContainer>`,
      /DOCTYPE/,
    )
  })

  it('refuses a DOCTYPE hidden later in the file', async () => {
    await rejects(fig6.replace('<KeyPackage>', '<KeyPackage><!DOCTYPE x>'), /DOCTYPE/)
  })

  it('refuses a wrong MAC, naming the element and line', async () => {
    const r = await rejects(
      fig6.replace('Su+NvtQfmvfJzF6bmQiJqoLRExc=', 'Tu+NvtQfmvfJzF6bmQiJqoLRExc='),
      /MAC mismatch/,
    )
    expect(r.errors[0]).toMatchObject({ element: 'KeyPackage #1/Key/Data/Secret/ValueMAC' })
    expect(fig6.split('\n')[r.errors[0].line! - 1].trim()).toBe('<KeyPackage>')
  })

  it('refuses a wrong pre-shared key', async () => {
    await rejects(fig6, /wrong key or password/, { preSharedKey: Buffer.alloc(16, 9) })
  })

  it('refuses truncated files at every cut point without throwing', async () => {
    for (const cut of [10, 200, 700, 1200, 1900, fig6.length - 20]) {
      const r = await importPskc(fig6.slice(0, cut), { preSharedKey: PRESHARED })
      expect(r.ok, `cut at ${cut}`).toBe(false)
      expect(r.errors[0].message).toMatch(/truncated|not well-formed|not a PSKC|no KeyContainer/)
    }
  })

  it('refuses non-XML, a wrong root, a wrong version and malformed content', async () => {
    await rejects('hello world', /not XML/)
    await rejects('<?xml version="1.0"?><Foo Version="1.0"><KeyPackage/></Foo>', /not KeyContainer/)
    await rejects(fig6.replace('Version="1.0"', 'Version="2.0"'), /unsupported PSKC version 2.0/)
    await rejects(fig6.replace('<Counter>', '<Counter><Oops>'), /not well-formed/)
    await rejects(
      fig6.replace('<PlainValue>0</PlainValue>', '<PlainValue>zero</PlainValue>'),
      /Counter\/PlainValue/,
    )
    await rejects(fig6.replace('AAECAwQFBgcICQoLDA0OD+cI', 'AAECAwQFBgcICQoLDA0OD+c*'), /not valid base64/)
    await rejects(
      fig6.replace(
        'xmlenc#aes128-cbc"/>\n                        <xenc:CipherData>',
        'xmlenc#kw-aes128"/>\n                        <xenc:CipherData>',
      ),
      /MAC mismatch|unsupported encryption/,
    )
  })

  it('is all-or-nothing and lists every bad entry by line', async () => {
    const list = sampleSeeds(5)
    const xml = exportPskc(list, { password: 'correct horse', iterations: 1000 })
    const lines = xml.split('\n')
    const secondMac = lines.findIndex(
      (l, i) => l.includes('<pskc:ValueMAC>') && lines.slice(0, i).some((x) => x.includes('TK000001')),
    )
    // Change the MAC's first character to a different one (the MAC is random: it may already start with "A").
    lines[secondMac] = lines[secondMac].replace(
      /<pskc:ValueMAC>(.)/,
      (_, c: string) => `<pskc:ValueMAC>${c === 'A' ? 'B' : 'A'}`,
    )
    const r = await importPskc(lines.join('\n'), { password: 'correct horse' })
    expect(r.ok).toBe(false)
    expect(r.seeds).toEqual([])
    expect(r.entries).toBe(5)
    expect(r.errors).toHaveLength(1)
    expect(r.errors[0].element).toBe('KeyPackage #2/Key/Data/Secret/ValueMAC')
    expect(lines[r.errors[0].line! - 1]).toContain('<pskc:KeyPackage>')
  })
})

describe('vendor padding faults', () => {
  // Figure 6's keys: re-encrypt the RFC secret with a broken pad and a correct MAC, as some vendors ship.
  const macKey = Buffer.from('1122334455667788990011223344556677889900', 'hex')
  const iv = Buffer.alloc(16, 7)
  const cipher = createCipheriv('aes-128-cbc', PRESHARED, iv).setAutoPadding(false)
  const badlyPadded = Buffer.concat([Buffer.from(RFC_SECRET, 'hex'), Buffer.alloc(12, 0)]) // zero fill, not PKCS#7
  const value = Buffer.concat([iv, cipher.update(badlyPadded), cipher.final()])
  const xml = fixture('rfc6030-figure6.pskcxml')
    .replace(/AAECAwQFBgcICQoLDA0OD\+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGv/, value.toString('base64'))
    .replace('Su+NvtQfmvfJzF6bmQiJqoLRExc=', createHmac('sha1', macKey).update(value).digest('base64'))

  it('refuses a bad pad by default, after the MAC has passed', async () => {
    const r = await importPskc(xml, { preSharedKey: PRESHARED })
    expect(r.ok).toBe(false)
    expect(r.errors[0].message).toMatch(/invalid padding/)
  })

  it('accepts it with lenientPadding and says so in the report', async () => {
    const r = await importPskc(xml, { preSharedKey: PRESHARED, lenientPadding: true })
    expect(r.ok).toBe(true)
    expect(r.warnings.map((w) => w.message)).toEqual(['invalid padding accepted (lenientPadding)'])
    expect(r.seeds[0].secret.subarray(0, 20).toString('hex')).toBe(RFC_SECRET)
  })
})

describe('export and streaming import', () => {
  it('round-trips through our importer, streamed in small byte chunks, with progress', async () => {
    const list = sampleSeeds(50)
    const xml = exportPskc(list, { password: 'correct horse', iterations: 1000 })
    const progress: { entries: number; bytes: number }[] = []
    const r = await importPskc(chunked(xml, 37), {
      password: 'correct horse',
      progressEvery: 10,
      onProgress: (p) => progress.push(p),
    })
    expect(r.errors).toEqual([])
    expect(r.seeds).toEqual(list)
    expect(progress.map((p) => p.entries)).toEqual([10, 20, 30, 40, 50, 50])
    expect(progress[0].bytes).toBeGreaterThan(0)
    expect(progress.at(-1)!.bytes).toBe(Buffer.byteLength(xml))
  })

  it('refuses a short password and never writes a secret in the clear', () => {
    expect(() => exportPskc(sampleSeeds(1), { password: 'short' })).toThrow(/at least 8/)
    const list = sampleSeeds(3)
    const xml = [...exportPskcChunks(list, { password: 'correct horse', iterations: 1000 })].join('')
    for (const s of list) {
      expect(xml).not.toContain(s.secret.toString('base64'))
      expect(xml).not.toContain(s.secret.toString('hex'))
    }
  })
})

describe('cross-check with python3-pskc (Debian)', () => {
  const CSV_COLUMNS =
    'serial,secret,counter,response_length,algorithm,algorithm_suite,time_interval,manufacturer,model'

  it('python3-pskc decrypts our export to the same secrets and parameters', () => {
    const list = sampleSeeds(12)
    const file = join(work, 'ours.pskcxml')
    writeFileSync(file, exportPskc(list, { password: 'correct horse', iterations: 2000 }))
    const out = execFileSync('pskc2csv', ['-p', 'correct horse', '-c', CSV_COLUMNS, file], {
      encoding: 'utf8',
    })
    const rows = out
      .trim()
      .split(/\r?\n/)
      .slice(1)
      .map((l) => l.split(','))
    expect(rows).toHaveLength(list.length)
    rows.forEach(([serial, secret, counter, digits, algorithm, suite, interval, manufacturer, model], i) => {
      const s = list[i]
      expect(serial).toBe(s.serial)
      expect(secret).toBe(s.secret.toString('hex'))
      expect(Number(digits)).toBe(s.digits)
      expect(algorithm).toBe(`urn:ietf:params:xml:ns:keyprov:pskc:${s.kind}`)
      expect(suite).toBe(s.algorithm === 'SHA1' ? '' : `HMAC-${s.algorithm}`)
      if (s.kind === 'hotp') expect(Number(counter)).toBe(s.counter)
      else expect(Number(interval)).toBe(s.period)
      expect(manufacturer).toBe(s.manufacturer)
      expect(model).toBe(s.model)
    })
  })

  it('we decrypt what python3-pskc (csv2pskc, PBKDF2) writes', async () => {
    const csv = join(work, 'in.csv')
    const secrets = Array.from({ length: 5 }, () => randomBytes(20).toString('hex'))
    writeFileSync(
      csv,
      'serial,secret,algorithm,response_length,counter\n' +
        secrets
          .map((s, i) => `SN${i},${s},urn:ietf:params:xml:ns:keyprov:pskc:hotp,${6 + (i % 3)},${i * 3}`)
          .join('\n') +
        '\n',
    )
    const out = join(work, 'theirs.pskcxml')
    execFileSync('csv2pskc', ['-p', 'Secret123', csv, '-o', out])
    const r = await importPskc(readFileSync(out), { password: 'Secret123' })
    expect(r.errors).toEqual([])
    expect(r.seeds.map((s) => [s.serial, s.secret.toString('hex'), s.digits, s.counter])).toEqual(
      secrets.map((s, i) => [`SN${i}`, s, 6 + (i % 3), i * 3]),
    )
  })
})
