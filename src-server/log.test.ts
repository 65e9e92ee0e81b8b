import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from './log'

function capture() {
  const lines: string[] = []
  const log = createLogger(
    'info',
    new Writable({
      write(chunk, _e, cb) {
        lines.push(chunk.toString())
        cb()
      },
    }),
  )
  return { log, text: () => lines.join('') }
}

describe('logger', () => {
  it('redacts secret fields wherever they are nested', () => {
    const { log, text } = capture()
    log.info(
      {
        password: 'hunter2-hunter2',
        body: { code: '123456', pin: '1234', key: 'A1B2' },
        req: { headers: { authorization: 'Bearer abc' } },
      },
      'x',
    )
    const out = text()
    for (const secret of ['hunter2-hunter2', '123456', '"1234"', 'A1B2', 'Bearer abc'])
      expect(out).not.toContain(secret)
    expect(out).toContain('[redacted]')
  })

  it('masks PANs in messages, free-text fields and errors', () => {
    const { log, text } = capture()
    log.warn(
      { detail: 'card 4111111111111111 declined', err: new Error('bad 5555555555554444') },
      'saw 378282246310005',
    )
    const out = text()
    expect(out).not.toMatch(/4111111111111111|5555555555554444|378282246310005/)
    expect(out).toContain('411111******1111')
    expect(out).toContain('555555******4444')
  })
})
