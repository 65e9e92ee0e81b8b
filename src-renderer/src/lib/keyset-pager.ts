/**
 * Previous/next over a list the server pages by keyset (`before`, `after`, an opaque `cursor`...). The server
 * only ever says where the page after this one starts, so the pager keeps the cursors of the pages seen so far
 * to go back.
 *
 * Plain TypeScript, so its logic is unit-tested without Svelte; pages get one whose state is reactive from
 * `keysetPager()` in paging.svelte.ts.
 */
import { toApiError, type ApiError } from './api'

/** One page of a list, with the cursor of the page after it (undefined on the last page). */
export interface KeysetPage<Item, Cursor> {
  items: Item[]
  next: Cursor | undefined
}

/** Asks the server for the page that starts at `cursor` (undefined: the first page) under `filters`. */
export type PageLoader<Filters, Item, Cursor> = (
  filters: Filters,
  cursor: Cursor | undefined,
) => Promise<KeysetPage<Item, Cursor>>

/** What the pager shows, in one object so that paging.svelte.ts can make all of it Svelte state at once. */
export interface PagerState<Item, Cursor> {
  /** The current page's items; null until a first page has arrived. */
  items: Item[] | null
  error: ApiError | null
  busy: boolean
  /** The cursors of the pages seen so far (the first page's is undefined); the last one is the current page. */
  trail: (Cursor | undefined)[]
  next: Cursor | undefined
}

export function emptyPagerState<Item, Cursor>(): PagerState<Item, Cursor> {
  return { items: null, error: null, busy: false, trail: [undefined], next: undefined }
}

/** The props of the Pager component, all but its label. */
export interface PagerControls {
  page: number
  hasPrevious: boolean
  hasNext: boolean
  busy: boolean
  onprevious: () => void
  onnext: () => void
}

export class KeysetPager<Filters extends object, Item, Cursor> {
  /** The filters of the last reload: next and previous page through the same list. */
  #filters: Filters | undefined

  constructor(
    private readonly load: PageLoader<Filters, Item, Cursor>,
    private readonly state: PagerState<Item, Cursor>,
  ) {}

  get items(): Item[] | null {
    return this.state.items
  }

  get error(): ApiError | null {
    return this.state.error
  }

  get busy(): boolean {
    return this.state.busy
  }

  get controls(): PagerControls {
    return {
      page: this.state.trail.length,
      hasPrevious: this.state.trail.length > 1,
      hasNext: this.state.next !== undefined,
      busy: this.state.busy,
      onprevious: () => void this.previous(),
      onnext: () => void this.next(),
    }
  }

  /** The first page under new filters. */
  async reload(filters: Filters): Promise<void> {
    this.#filters = filters
    this.state.trail = [undefined]
    await this.#fetch(filters, undefined)
  }

  async next(): Promise<void> {
    const filters = this.#filters
    const cursor = this.state.next
    if (filters === undefined || cursor === undefined) return
    // The trail only moves once the page has arrived: a failed fetch leaves the operator where they were.
    if (await this.#fetch(filters, cursor)) this.state.trail = [...this.state.trail, cursor]
  }

  async previous(): Promise<void> {
    const filters = this.#filters
    const rest = this.state.trail.slice(0, -1)
    if (filters === undefined || rest.length === 0) return
    if (await this.#fetch(filters, rest[rest.length - 1])) this.state.trail = rest
  }

  async #fetch(filters: Filters, cursor: Cursor | undefined): Promise<boolean> {
    this.state.busy = true
    this.state.error = null
    try {
      const page = await this.load(filters, cursor)
      this.state.items = page.items
      this.state.next = page.next
      return true
    } catch (caught) {
      this.state.error = toApiError(caught)
      return false
    } finally {
      this.state.busy = false
    }
  }
}
