import { describe, expect, it } from 'vitest'
import { MAX_BRIDGE_FILE_BYTES } from '../../src-renderer/src/lib/bridge'
import {
  isTrustedIpcSender,
  NoArguments,
  NotifyRequest,
  OpenFileRequest,
  SaveFileRequest,
} from './ipc-contract.std'

describe('isTrustedIpcSender', () => {
  it('trusts only the top frame of the console origin', () => {
    expect(isTrustedIpcSender({ url: 'app://console/#/settings', isTopFrame: true })).toBe(true)
    expect(isTrustedIpcSender({ url: 'app://console/', isTopFrame: false })).toBe(false)
    expect(isTrustedIpcSender({ url: 'https://evil.example/', isTopFrame: true })).toBe(false)
    expect(isTrustedIpcSender({ url: 'http://127.0.0.1:8787/', isTopFrame: true })).toBe(false)
    expect(isTrustedIpcSender(null)).toBe(false)
    expect(isTrustedIpcSender(undefined)).toBe(false)
  })
})

describe('OpenFileRequest', () => {
  it('accepts no options and sensible filters', () => {
    expect(OpenFileRequest.safeParse(undefined).success).toBe(true)
    expect(
      OpenFileRequest.safeParse({ title: 'Enrolment file', filters: [{ name: 'CSV', extensions: ['csv'] }] })
        .success,
    ).toBe(true)
    expect(OpenFileRequest.safeParse({ filters: [{ name: 'All', extensions: ['*'] }] }).success).toBe(true)
  })

  it('refuses unknown fields and odd extensions', () => {
    expect(OpenFileRequest.safeParse({ defaultPath: '/etc' }).success).toBe(false)
    expect(OpenFileRequest.safeParse({ filters: [{ name: 'CSV', extensions: ['.csv'] }] }).success).toBe(
      false,
    )
    expect(OpenFileRequest.safeParse({ filters: [{ name: 'CSV', extensions: [] }] }).success).toBe(false)
    expect(OpenFileRequest.safeParse('open').success).toBe(false)
  })
})

describe('SaveFileRequest', () => {
  const base = { suggestedName: 'report.csv', content: 'a,b\n' }

  it('accepts text and bytes', () => {
    expect(SaveFileRequest.safeParse(base).success).toBe(true)
    expect(SaveFileRequest.safeParse({ ...base, content: new Uint8Array([1, 2, 3]) }).success).toBe(true)
  })

  it.each(['../report.csv', '/tmp/report.csv', 'C:\\report.csv', 'a\0b', '..', ''])(
    'refuses the suggested name %j',
    (suggestedName) => {
      expect(SaveFileRequest.safeParse({ ...base, suggestedName }).success).toBe(false)
    },
  )

  it('refuses oversized content and other content types', () => {
    expect(
      SaveFileRequest.safeParse({ ...base, content: new Uint8Array(MAX_BRIDGE_FILE_BYTES + 1) }).success,
    ).toBe(false)
    expect(SaveFileRequest.safeParse({ ...base, content: { length: 1 } }).success).toBe(false)
    expect(SaveFileRequest.safeParse({ ...base, path: '/etc/passwd' }).success).toBe(false)
  })
})

describe('NotifyRequest and NoArguments', () => {
  it('validates notifications', () => {
    expect(NotifyRequest.safeParse({ title: 'Modem', body: 'Modem 1 lost its network' }).success).toBe(true)
    expect(NotifyRequest.safeParse({ title: '', body: 'x' }).success).toBe(false)
    expect(NotifyRequest.safeParse({ title: 'x', body: 'y'.repeat(1001) }).success).toBe(false)
  })

  it('refuses arguments where none are expected', () => {
    expect(NoArguments.safeParse(undefined).success).toBe(true)
    expect(NoArguments.safeParse({}).success).toBe(false)
  })
})
