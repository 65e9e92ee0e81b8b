import { describe, expect, it } from 'vitest'
import { checkPasswordPolicy, hashPassword, verifyPassword } from './password'

describe('passwords', () => {
  it('hashes with a salt and verifies', async () => {
    const a = await hashPassword('correct-horse-battery')
    const b = await hashPassword('correct-horse-battery')
    expect(a).toMatch(/^scrypt\$15\$8\$1\$/)
    expect(a).not.toBe(b)
    expect(await verifyPassword('correct-horse-battery', a)).toBe(true)
    expect(await verifyPassword('correct-horse-batterz', a)).toBe(false)
    expect(await verifyPassword('x', 'garbage')).toBe(false)
  })

  it('applies the length-first policy', () => {
    expect(() => checkPasswordPolicy('short')).toThrow(/12 characters/)
    expect(() => checkPasswordPolicy('aaaaaaaaaaaaaaa')).toThrow(/repeated/)
    expect(() => checkPasswordPolicy('alice-is-my-password', 'alice')).toThrow(/username/)
    expect(() => checkPasswordPolicy('tulip garden window')).not.toThrow()
  })
})
