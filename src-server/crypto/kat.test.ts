import { describe, expect, it } from 'vitest'
import { runKnownAnswerTests } from './kat'

describe('start-up self-tests', () => {
  it('pass on a sound crypto library, naming every primitive checked', () => {
    expect(runKnownAnswerTests()).toEqual(
      expect.arrayContaining([expect.stringMatching(/AES-256-GCM/), expect.stringMatching(/scrypt/)]),
    )
  })
})
