import { session } from '../../lib/session.svelte'

/** Whether the signed-in operator holds a permission: pages hide what the server would refuse anyway. */
export function allowed(permission: string): boolean {
  return session.current?.permissions.includes(permission) ?? false
}
