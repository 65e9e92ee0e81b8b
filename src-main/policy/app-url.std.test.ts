import { describe, expect, it } from 'vitest'
import { APP_START_URL, isInternalUrl, parseUrl } from './app-url.std'

describe('isInternalUrl', () => {
  it('accepts the console origin and its paths and hashes', () => {
    expect(isInternalUrl(APP_START_URL)).toBe(true)
    expect(isInternalUrl('app://console/index.html#/cardholders')).toBe(true)
    expect(isInternalUrl('app://console/assets/index-abc.js')).toBe(true)
  })

  it.each([
    'https://console/',
    'http://127.0.0.1:8787/',
    'file:///etc/passwd',
    'app://evil/',
    'app://console.evil.example/',
    'app://user:pw@console/',
    'javascript:alert(1)',
    'data:text/html,<script>1</script>',
    'app:console',
    '',
  ])('rejects %s', (value) => {
    expect(isInternalUrl(value)).toBe(false)
  })

  it('rejects values that are not strings', () => {
    expect(isInternalUrl(undefined)).toBe(false)
    expect(isInternalUrl(null)).toBe(false)
    expect(isInternalUrl(42)).toBe(false)
    expect(isInternalUrl({ href: APP_START_URL })).toBe(false)
  })

  it('rejects absurdly long input instead of parsing it', () => {
    expect(parseUrl(`app://console/${'a'.repeat(9000)}`)).toBeNull()
  })
})
