import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { exportPskc } from './export'
import { importPskc } from './import'
import { importPskcInParallel, PARALLEL_MIN_BYTES, startPartReaders } from './parallel'
import { sampleSeeds } from './seeds.fixture'

const PASSWORD = 'correct horse'
/** Small parts, so a few hundred tokens make many of them. */
const PART_BYTES = 16 * 1024
const work = mkdtempSync(join(tmpdir(), 'pskc-parallel-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const list = sampleSeeds(300)
const xml = exportPskc(list, { password: PASSWORD, iterations: 1000 })
const lines = xml.split('\n')

const inParts = (text: string, options = {}) =>
  importPskcInParallel(Buffer.from(text), { password: PASSWORD, ...options }, startPartReaders(2), PART_BYTES)
const inOnePiece = (text: string, options = {}) =>
  importPskc(text, { password: PASSWORD, workers: 0, ...options })

/** The line of the KeyPackage holding `serial` (1-based), and the file with that package's ValueMAC altered. */
function tamperedMac(serial: string): { xml: string; line: number } {
  const at = lines.findIndex((l) => l.includes(`<pskc:SerialNo>${serial}<`))
  const packageLine = lines.slice(0, at).findLastIndex((l) => l.includes('<pskc:KeyPackage>'))
  const mac = lines.findIndex((l, i) => i > at && l.includes('<pskc:ValueMAC>'))
  const changed = [...lines]
  changed[mac] = changed[mac].replace(
    /<pskc:ValueMAC>(.)/,
    (_, c: string) => `<pskc:ValueMAC>${c === 'A' ? 'B' : 'A'}`,
  )
  return { xml: changed.join('\n'), line: packageLine + 1 }
}

describe('reading a PSKC file in parts on worker threads', () => {
  it('gives the one-piece result, and python3-pskc (pskc2csv) decrypts the same secrets', async () => {
    expect(Buffer.byteLength(xml) / PART_BYTES).toBeGreaterThan(10)
    const parts = await inParts(xml)
    expect(parts).toBeDefined()
    expect(parts).toEqual(await inOnePiece(xml))
    expect(parts!.ok).toBe(true)
    expect(parts!.seeds).toEqual(list)

    const file = join(work, 'tokens.pskcxml')
    writeFileSync(file, xml)
    const csv = execFileSync('pskc2csv', ['-p', PASSWORD, '-c', 'serial,secret', file], { encoding: 'utf8' })
    const theirs = csv.trim().split(/\r?\n/).slice(1)
    expect(theirs).toEqual(parts!.seeds.map((s) => `${s.serial},${s.secret.toString('hex')}`))
  })

  it('names a bad KeyPackage in a later part by its number and line, and imports nothing', async () => {
    const bad = tamperedMac('TK000250')
    const parts = await inParts(bad.xml)
    expect(parts).toEqual(await inOnePiece(bad.xml))
    expect(parts).toMatchObject({ ok: false, seeds: [], entries: 300, moreErrors: 0 })
    expect(parts!.errors).toEqual([
      {
        line: bad.line,
        element: 'KeyPackage #251/Key/Data/Secret/ValueMAC',
        message: 'MAC mismatch: wrong key or password, or the value was altered',
      },
    ])
  })

  it('reports a serial given twice in different parts with the line of the first', async () => {
    const twice = xml.replace('<pskc:SerialNo>TK000280<', '<pskc:SerialNo>TK000010<')
    const parts = await inParts(twice)
    expect(parts).toEqual(await inOnePiece(twice))
    expect(parts!.errors).toHaveLength(1)
    expect(parts!.errors[0].message).toMatch(/^serial TK000010 appears twice \(first on line \d+\)$/)
  })

  it('stops at the header when the password is wrong, as the one-piece read does', async () => {
    const parts = await inParts(xml, { password: 'wrong password' })
    expect(parts).toEqual(await inOnePiece(xml, { password: 'wrong password' }))
    // The MAC key almost always fails to decrypt (MACMethod); 1 time in 256 its padding is valid by chance
    // and the values' MACs fail instead.
    expect(parts!.errors[0].element).toMatch(/MACMethod|ValueMAC/)
  })

  it('leaves a file it cannot cut safely to the one-piece read', async () => {
    // A comment that looks like a KeyPackage start tag: a cut there falls inside the comment.
    const decoy = `<!-- <pskc:KeyPackage> -->`
    const commented = xml.replaceAll('</pskc:KeyPackage>\n', `</pskc:KeyPackage>\n${decoy}\n`)
    expect(await inParts(commented)).toBeUndefined()
    expect((await inOnePiece(commented)).seeds).toEqual(list)
    // A DOCTYPE in a later part is found by that part's splitter.
    const doctype = xml.replace('<pskc:SerialNo>TK000200<', '<!DOCTYPE x><pskc:SerialNo>TK000200<')
    expect(await inParts(doctype)).toBeUndefined()
    expect((await inOnePiece(doctype)).errors[0].message).toMatch(/DOCTYPE/)
    // So is a truncated file.
    expect(await inParts(xml.slice(0, -200))).toBeUndefined()
  })

  it('is what importPskc does with a file over PARALLEL_MIN_BYTES, given whole or streamed with its size', async () => {
    const big = sampleSeeds(1300, 'BG')
    const file = Buffer.from(exportPskc(big, { password: PASSWORD, iterations: 1000 }))
    expect(file.length).toBeGreaterThan(PARALLEL_MIN_BYTES)
    const progress: number[] = []
    const whole = await importPskc(file, { password: PASSWORD, onProgress: (p) => progress.push(p.entries) })
    expect(whole.seeds).toEqual(big)
    expect(progress.at(-1)).toBe(1300)
    async function* chunks() {
      for (let i = 0; i < file.length; i += 100_000) yield file.subarray(i, i + 100_000)
    }
    const streamed = await importPskc(chunks(), { password: PASSWORD, size: file.length })
    expect(streamed).toEqual(whole)
  })

  it('fails every part, also later ones, once a worker fails (nothing waits for an answer that cannot come)', async () => {
    const readers = await startPartReaders(1)
    const body = xml.slice(xml.indexOf('<pskc:KeyPackage>'), xml.indexOf('<pskc:KeyPackage>', 5000))
    const task = () => ({
      bytes: new Uint8Array(Buffer.from(body)),
      rootName: 'pskc:KeyContainer',
      last: false,
      // Not a hash node:crypto knows: an exception in the worker, not an error in the file.
      keys: { encryptionKey: new Uint8Array(16), macHash: 'no-such-hash', macKey: new Uint8Array(20) },
    })
    try {
      await expect(readers.read(task())).rejects.toThrow(/digest/i)
      await expect(readers.read(task())).rejects.toThrow(/digest/i)
    } finally {
      await readers.close()
    }
  })
})
