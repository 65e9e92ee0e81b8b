import { describe, expect, it } from 'vitest'
import { importOathCsv, importYubikeyCsv } from './csv-import'

const K20 = '3132333435363738393031323334353637383930'
const K32 = '3132333435363738393031323334353637383930313233343536373839303132'

describe('OATH CSV', () => {
  it('reads serial, key, type, digits and time step, with comments and a header', async () => {
    const csv = `serial,key,type,otplen,timestep\n# a comment\nH1, ${K20}, hotp, 8\nT1,${K32},totp,6,60\n\nH2,${K20}\n`
    const r = await importOathCsv(csv)
    expect(r.errors).toEqual([])
    expect(r.seeds.map((s) => [s.serial, s.kind, s.algorithm, s.digits, s.period])).toEqual([
      ['H1', 'hotp', 'SHA1', 8, 30],
      ['T1', 'totp', 'SHA256', 6, 60],
      ['H2', 'hotp', 'SHA1', 6, 30],
    ])
    expect(r.seeds[0].secret.toString('hex')).toBe(K20)
  })

  it('is all-or-nothing and names every bad line without echoing the key', async () => {
    const csv = `H1,${K20},hotp\nH2,xyz,hotp\nH3,${K20},ocra\nH1,${K20}\nH5,${K20},hotp,9\nH6,313233,hotp\n`
    const r = await importOathCsv(csv)
    expect(r.ok).toBe(false)
    expect(r.seeds).toEqual([])
    expect(r.entries).toBe(6)
    expect(r.errors.map((e) => e.line)).toEqual([2, 3, 4, 5, 6])
    expect(r.errors.map((e) => e.message).join('\n')).toMatch(
      /hex[\s\S]*hotp or totp[\s\S]*twice[\s\S]*6 to 8[\s\S]*16/,
    )
    expect(JSON.stringify(r)).not.toContain(K20)
  })

  it('reports broken CSV quoting with its line and column, never the key it stopped at', async () => {
    const unclosed = await importOathCsv(`H1,${K20},hotp\nH2,"${K20},hotp\n`)
    expect(unclosed.ok).toBe(false)
    expect(unclosed.errors[0].message).toBe('not valid CSV: a quoted field is never closed')
    // csv-parse's own message for a stray quote quotes the field: here the seed.
    const stray = await importOathCsv(`H1,${K32}",hotp\n`)
    expect(stray.errors).toEqual([
      { line: 1, message: 'not valid CSV: a quote in the middle of column 2 (quote the whole field)' },
    ])
    expect(JSON.stringify(stray)).not.toContain(K32)
  })

  it('streams byte chunks and reports progress', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => `S${i},${K20},hotp,6`).join('\n')
    async function* chunks() {
      const b = Buffer.from(rows)
      for (let i = 0; i < b.length; i += 50) yield b.subarray(i, i + 50)
    }
    const seen: number[] = []
    const r = await importOathCsv(chunks(), { progressEvery: 10, onProgress: (p) => seen.push(p.entries) })
    expect(r.seeds).toHaveLength(25)
    expect(seen).toEqual([10, 20, 25])
  })
})

describe('YubiKey personalisation CSV', () => {
  it('reads traditional OATH-HOTP rows and Yubico-format OATH rows', async () => {
    const csv = [
      `OATH-HOTP,11.12.13 18:55,1,cccccccccccc,,${K20},,,0,0,0,6,0,0,0,0,0,0`,
      `OATH-HOTP,11.12.13 18:56,2,cccccccccccd,,${K20},,,0,0,0,8,0,0,0,0,0,0`,
      '# OATH mode',
      `508326,,0,${K20},,2013-12-12T08:41:07,`,
    ].join('\n')
    const r = await importYubikeyCsv(csv)
    expect(r.errors).toEqual([])
    expect(r.seeds.map((s) => [s.serial, s.digits, s.kind])).toEqual([
      ['UBOMcccccccccccc_1', 6, 'hotp'],
      ['UBOMcccccccccccd_2', 8, 'hotp'],
      ['UBOM508326', 6, 'hotp'],
    ])
  })

  it('refuses Yubico OTP and static-password rows by name', async () => {
    const csv = [
      'Yubico OTP,12/11/2013 11:10,1,vvgutbiedkvi,ab86c04de6a3,d26a7c0f85fdda28bd816e406342b214,,,0,0,0,0,0,0,0,0,0,0',
      '508326,cccccccccccc,83cebdfb7b93,a47c5bf9c152202f577be6721c0113af,,2013-12-12T08:43:17,',
      '508327,,,9e2fd386224a7f77e9b5aee775464033,,2013-12-12T08:44:34,',
    ].join('\n')
    const r = await importYubikeyCsv(csv)
    expect(r.ok).toBe(false)
    expect(r.errors.map((e) => [e.line, e.message])).toEqual([
      [1, 'Yubico OTP rows are not OATH tokens'],
      [2, 'not an OATH-mode row (Yubico OTP or static password)'],
      [3, 'not an OATH-mode row (Yubico OTP or static password)'],
    ])
  })
})
