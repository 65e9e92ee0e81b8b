import { describe, expect, it } from 'vitest'
import { EventTickets } from './events'

describe('EventTickets', () => {
  it('stands for the session token once, and only for 30 seconds', () => {
    const tickets = new EventTickets()
    const { ticket, expiresAt } = tickets.issue('token-a', 1000)
    expect(expiresAt).toBe(31_000)
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(tickets.redeem(ticket, 2000)).toBe('token-a')
    expect(tickets.redeem(ticket, 2000)).toBeUndefined()

    const late = tickets.issue('token-b', 1000).ticket
    expect(tickets.redeem(late, 31_000)).toBeUndefined()
    expect(tickets.redeem('made-up', 1000)).toBeUndefined()
  })
})
