import { describe, expect, it } from 'vitest'
import { ApiError } from './api'
import { emptyPagerState, KeysetPager, type KeysetPage } from './keyset-pager'

interface Filters {
  prefix: string
}

/**
 * A server list of the numbers 1..total, newest first, paged by `before` like the audit log: the cursor of the
 * next page is the last id shown. `fail` makes the next call answer an error instead.
 */
function numbersServer(total: number, pageSize: number) {
  const calls: { filters: Filters; cursor: number | undefined }[] = []
  const server = {
    calls,
    fail: null as ApiError | null,
    async load(filters: Filters, cursor: number | undefined): Promise<KeysetPage<string, number>> {
      calls.push({ filters, cursor })
      if (server.fail) {
        const failure = server.fail
        server.fail = null
        throw failure
      }
      const ids: number[] = []
      for (let id = (cursor ?? total + 1) - 1; id >= 1 && ids.length < pageSize; id--) ids.push(id)
      const last = ids[ids.length - 1]
      return { items: ids.map((id) => `${filters.prefix}${id}`), next: last > 1 ? last : undefined }
    },
  }
  return server
}

function pagerOver(server: ReturnType<typeof numbersServer>) {
  const state = emptyPagerState<string, number>()
  return { state, pager: new KeysetPager((f: Filters, c) => server.load(f, c), state) }
}

const problem = new ApiError(503, {
  type: 'about:blank',
  title: 'The IMS server had a problem.',
  status: 503,
})

describe('KeysetPager', () => {
  it('shows nothing and offers no move before the first load', async () => {
    const server = numbersServer(5, 2)
    const { pager } = pagerOver(server)
    expect(pager.items).toBeNull()
    expect(pager.controls).toMatchObject({ page: 1, hasPrevious: false, hasNext: false, busy: false })
    await pager.next()
    await pager.previous()
    expect(server.calls).toEqual([])
  })

  it('walks forward and back with the cursors the server gave, under the filters of the last reload', async () => {
    const server = numbersServer(5, 2)
    const { pager } = pagerOver(server)
    await pager.reload({ prefix: '#' })
    expect(pager.items).toEqual(['#5', '#4'])
    expect(pager.controls).toMatchObject({ page: 1, hasPrevious: false, hasNext: true })

    await pager.next()
    expect(pager.items).toEqual(['#3', '#2'])
    await pager.next()
    expect(pager.items).toEqual(['#1'])
    expect(pager.controls).toMatchObject({ page: 3, hasPrevious: true, hasNext: false })
    await pager.next() // nothing after the last page: no request
    expect(server.calls).toHaveLength(3)

    await pager.previous()
    expect(pager.items).toEqual(['#3', '#2'])
    await pager.previous()
    expect(pager.items).toEqual(['#5', '#4'])
    expect(pager.controls).toMatchObject({ page: 1, hasPrevious: false, hasNext: true })
    await pager.previous() // already on the first page: no request
    expect(server.calls.map((call) => call.cursor)).toEqual([undefined, 4, 2, 4, undefined])
    expect(server.calls.every((call) => call.filters.prefix === '#')).toBe(true)
  })

  it('a reload starts again at the first page with the new filters', async () => {
    const server = numbersServer(5, 2)
    const { pager } = pagerOver(server)
    await pager.reload({ prefix: 'a' })
    await pager.next()
    await pager.reload({ prefix: 'b' })
    expect(pager.items).toEqual(['b5', 'b4'])
    expect(pager.controls.page).toBe(1)
    await pager.next()
    expect(server.calls.at(-1)).toEqual({ filters: { prefix: 'b' }, cursor: 4 })
  })

  it('a failed move keeps the page and the items, says why, and the next success clears it', async () => {
    const server = numbersServer(5, 2)
    const { pager } = pagerOver(server)
    await pager.reload({ prefix: '#' })
    await pager.next()

    server.fail = problem
    await pager.next()
    expect(pager.error).toBe(problem)
    expect(pager.items).toEqual(['#3', '#2'])
    expect(pager.controls).toMatchObject({ page: 2, hasNext: true, busy: false })

    server.fail = problem
    await pager.previous()
    expect(pager.controls.page).toBe(2)

    await pager.next()
    expect(pager.error).toBeNull()
    expect(pager.items).toEqual(['#1'])
    expect(pager.controls.page).toBe(3)
  })

  it('anything thrown becomes an ApiError the page can show in words', async () => {
    const pager = new KeysetPager<Filters, string, number>(
      () => Promise.reject(new TypeError('fetch failed')),
      emptyPagerState(),
    )
    await pager.reload({ prefix: '#' })
    expect(pager.error).toBeInstanceOf(ApiError)
    expect(pager.error?.message).toMatch(/Cannot reach the IMS server/)
    expect(pager.items).toBeNull()
  })

  it('is busy while a page is on its way, and the controls say so', async () => {
    let answer: (page: KeysetPage<string, number>) => void = () => {}
    const state = emptyPagerState<string, number>()
    const pager = new KeysetPager<Filters, string, number>(
      () => new Promise((resolve) => (answer = resolve)),
      state,
    )
    const loading = pager.reload({ prefix: '#' })
    expect(pager.busy).toBe(true)
    expect(pager.controls.busy).toBe(true)
    answer({ items: ['#1'], next: undefined })
    await loading
    expect(pager.busy).toBe(false)
    expect(state.items).toEqual(['#1'])
  })
})
