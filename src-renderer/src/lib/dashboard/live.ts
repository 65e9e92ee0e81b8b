import { dashboardApi } from '../endpoints'

export type LiveState = 'connecting' | 'live' | 'reconnecting'

const RECONNECT_MS = 3000

/**
 * Listens to the server's `changed` events for the dashboard (GET /api/console/dashboard/events). EventSource
 * cannot send the bearer token, so each (re)connection first asks for a single-use ticket; a ticket is good
 * for one connection, so on an error the stream is reopened with a new one rather than by EventSource itself.
 * Returns a function that closes it.
 */
export function listenForChanges(onChange: () => void, onState: (state: LiveState) => void): () => void {
  let source: EventSource | undefined
  let retry: ReturnType<typeof setTimeout> | undefined
  let closed = false
  const open = async () => {
    try {
      const { ticket } = await dashboardApi.eventTicket()
      if (closed) return
      source = new EventSource(`/api/console/dashboard/events?ticket=${encodeURIComponent(ticket)}`)
      source.addEventListener('ready', () => onState('live'))
      source.addEventListener('changed', onChange)
      source.onerror = () => {
        source?.close()
        schedule()
      }
    } catch {
      schedule()
    }
  }
  const schedule = () => {
    if (closed) return
    onState('reconnecting')
    retry = setTimeout(() => void open(), RECONNECT_MS)
  }
  onState('connecting')
  void open()
  return () => {
    closed = true
    clearTimeout(retry)
    source?.close()
  }
}
