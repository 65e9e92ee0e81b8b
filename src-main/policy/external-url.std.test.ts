import { describe, expect, it, vi } from 'vitest'
import { openExternalUrl, toSafeExternalUrl } from './external-url.std'

describe('toSafeExternalUrl', () => {
  it('accepts http and https URLs and returns them normalised', () => {
    expect(toSafeExternalUrl('https://www.emvco.com/specifications/')).toBe(
      'https://www.emvco.com/specifications/',
    )
    expect(toSafeExternalUrl('HTTP://Example.COM')).toBe('http://example.com/')
  })

  it.each([
    'file:///etc/passwd',
    'smb://server/share',
    'javascript:alert(1)',
    'ms-msdt:/id',
    'app://console/',
    'https://user:secret@example.com/',
    'https://user@example.com/',
    'not a url',
  ])('refuses %s', (value) => {
    expect(toSafeExternalUrl(value)).toBeNull()
  })

  it('refuses values that are not strings', () => {
    expect(toSafeExternalUrl(undefined)).toBeNull()
    expect(toSafeExternalUrl(['https://example.com'])).toBeNull()
  })
})

describe('openExternalUrl', () => {
  it('calls the opener only for safe URLs', async () => {
    const open = vi.fn(async () => {})
    expect(await openExternalUrl('file:///etc/passwd', open)).toBe(false)
    expect(open).not.toHaveBeenCalled()
    expect(await openExternalUrl('https://example.com/a?b=c', open)).toBe(true)
    expect(open).toHaveBeenCalledWith('https://example.com/a?b=c')
  })
})
