import { describe, expect, it } from 'vitest'
import { runCryptoCommand } from './cli'
import { vectors } from './crypto/vectors.test-helper'

describe('ims crypto', () => {
  it('kcv: legacy for TDES, CMAC for AES', () => {
    expect(runCryptoCommand(['kcv', '--key', '0123456789ABCDEFFEDCBA9876543210'])).toMatchObject({
      kcv: '08D7B4',
      method: 'legacy',
    })
    expect(
      runCryptoCommand(['kcv', '--algorithm=aes128', '--key', '2B7E151628AED2A6ABF7158809CF4F3C']),
    ).toMatchObject({ kcv: '7AD386C376', method: 'cmac' })
  })

  it('dukpt tdes: the X9.24-1 A.4 row for counter 1', () => {
    const out = runCryptoCommand([
      'dukpt',
      '--bdk',
      '0123456789ABCDEFFEDCBA9876543210',
      '--ksn',
      'FFFF9876543210E00001',
      '--pin',
      '1234',
      '--pan',
      '4012345678909',
    ])
    expect(out).toMatchObject({
      ipek: '6AC292FAA1315B4D858AB3A3D7D5933A',
      transactionKey: '042666B49184CFA368DE9628D0397BC9',
      pinKey: '042666B49184CF5C68DE9628D0397B36',
      clearPinBlock: '041274EDCBA9876F',
      encryptedPinBlock: '1B9C1845EB993A7A',
      bdkKcv: '08D7B4',
      counter: 1,
    })
  })

  it('dukpt aes128: the X9.24-3 supplement row for counter 1, with a format 4 PIN block', () => {
    const out = runCryptoCommand([
      'dukpt',
      '--algorithm',
      'aes128',
      '--bdk',
      'FEDCBA9876543210F1F1F1F1F1F1F1F1',
      '--ksn',
      '123456789012345600000001',
      '--pin',
      '1234',
      '--pan',
      '4111111111111111',
    ])
    expect(out).toMatchObject({
      initialKey: '1273671EA26AC29AFA4D1084127652A1',
      derivationKey: '4F21B565BAD9835E112B6465635EAE44',
      pinKey: 'AF8CB133A78F8DC2D1359F18527593FB',
      macGenerationKey: 'A2DC23DE6FDE0824A2BC321E08E4B8B7',
      dataEncryptionKey: 'A35C412EFD41FDB98B69797C02DCD08F',
      pinBlockFormat: 4,
      panField: '44111111111111111000000000000000',
    })
    const back = runCryptoCommand([
      'pinblock',
      '--format',
      '4',
      '--key',
      String(out.pinKey),
      '--pan',
      '4111111111111111',
      '--block',
      String(out.encryptedPinBlock),
    ])
    expect(back.pin).toBe('1234')
  })

  it('tr31-unwrap shows the header fields and KCVs; tr31-wrap round-trips with KS and KC', () => {
    const v = vectors('tr31')[2]
    const out = runCryptoCommand([
      'tr31-unwrap',
      '--kbpk',
      String(v.inputs.kbpk_hex),
      '--block',
      String(v.inputs.key_block),
    ])
    expect(out).toMatchObject({
      key: v.expected.clear_key_hex,
      kcv: v.expected.kcv,
      keyUsage: 'B0',
      version: 'B',
      modeOfUse: 'X',
      optionalBlocks: { KS: '00604B120F9292800000' },
    })
    const wrapped = runCryptoCommand([
      'tr31-wrap',
      '--version',
      'B',
      '--kbpk',
      String(v.inputs.kbpk_hex),
      '--key',
      String(v.expected.clear_key_hex),
      '--usage',
      'B0',
      '--mode',
      'X',
      '--ks',
      '00604B120F9292800000',
      '--kc',
    ])
    expect(wrapped).toMatchObject({ kcv: '9A4212', keyUsage: 'B0', optionalBlocks: { KC: '009A4212' } })
    const back = runCryptoCommand([
      'tr31-unwrap',
      '--kbpk',
      String(v.inputs.kbpk_hex),
      '--block',
      String(wrapped.block),
    ])
    expect(back.key).toBe(v.expected.clear_key_hex)
  })

  it('pinblock: format 0 encrypted under a TDES key and decoded back', () => {
    const out = runCryptoCommand([
      'pinblock',
      '--format',
      '0',
      '--pin',
      '1234',
      '--pan',
      '4012345678909',
      '--key',
      '042666B49184CF5C68DE9628D0397B36',
    ])
    expect(out).toMatchObject({ clearPinBlock: '041274EDCBA9876F', encryptedPinBlock: '1B9C1845EB993A7A' })
  })

  it('bad flags give clear errors that do not echo key material', () => {
    expect(() => runCryptoCommand([])).toThrow(/usage: ims crypto/)
    expect(() => runCryptoCommand(['kcv', '--kee', 'AA'])).toThrow('ims crypto kcv: unknown flag --kee')
    expect(() => runCryptoCommand(['kcv'])).toThrow('missing --key')
    expect(() => runCryptoCommand(['kcv', '--key'])).toThrow('--key needs a value')
    expect(() => runCryptoCommand(['dukpt', '--algorithm', 'des', '--bdk', '00'])).toThrow(
      /--algorithm must be one of tdes/,
    )
    expect(() => runCryptoCommand(['dukpt', '--bdk', 'SECRETSECRET', '--ksn', '00'])).toThrow(
      'ims crypto dukpt: --bdk must be an even number of hex digits',
    )
    expect(() =>
      runCryptoCommand([
        'tr31-unwrap',
        '--kbpk',
        '89E88CF7931444F334BD7547FC3F380C',
        '--block',
        'A0072P0TE00E0000FF',
      ]),
    ).toThrow(/ims crypto tr31-unwrap: the key block length field says 72/)
    expect(() =>
      runCryptoCommand([
        'tr31-wrap',
        '--version',
        'B',
        '--kbpk',
        '00'.repeat(16),
        '--key',
        '11'.repeat(16),
        '--algorithm',
        'aes',
      ]),
    ).toThrow(/weaker than the wrapped key/)
  })
})
