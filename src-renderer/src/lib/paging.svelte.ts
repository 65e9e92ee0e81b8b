import { emptyPagerState, KeysetPager, type PageLoader } from './keyset-pager'

/** A keyset pager whose state is Svelte state, so the page's markup follows its items, errors and moves. */
export function keysetPager<Filters extends object, Item, Cursor>(
  load: PageLoader<Filters, Item, Cursor>,
): KeysetPager<Filters, Item, Cursor> {
  const state = $state(emptyPagerState<Item, Cursor>())
  return new KeysetPager(load, state)
}
