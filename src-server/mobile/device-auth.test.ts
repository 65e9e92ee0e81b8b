import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Context } from 'koa'
import { afterEach, describe, expect, it } from 'vitest'
import { generateDeviceKey, sha256, signRecord } from '../../src-renderer/authenticator/device-client'
import { migrate, openDatabase, type Db } from '../store/db'
import { deviceAuthorization, requestRecord } from './canonical'
import { DeviceAuthenticator } from './device-auth'
import type { DeviceRegistry } from './devices'
import { importDeviceKey } from './signature'

const DEVICE = 'device-000000000001'
const PATH = '/api/mobile/v1/approvals'
const WINDOW_MS = 5 * 60_000
const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A database file, an active device with a real P-256 key, and requests it signs. */
async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'ims-device-auth-'))
  dirs.push(dir)
  const file = join(dir, 'ims.db')
  const db = openDatabase(file)
  migrate(db)
  const keys = await generateDeviceKey()
  const key = importDeviceKey(Buffer.from(await crypto.subtle.exportKey('spki', keys.publicKey)))
  const devices = {
    identity: (id: string) => (id === DEVICE ? { id, cardholderId: 1, status: 'active', key } : undefined),
  } as unknown as DeviceRegistry
  const authenticator = (on: Db) => new DeviceAuthenticator(on, devices, () => WINDOW_MS)
  const signedGet = async (at: number) => {
    const record = requestRecord('GET', PATH, at, await sha256(''))
    const authorization = deviceAuthorization(DEVICE, at, await signRecord(keys.privateKey, record))
    return () =>
      ({ method: 'GET', originalUrl: PATH, state: {}, get: () => authorization }) as unknown as Context
  }
  const rows = () => db.prepare('SELECT count(*) FROM mobile_seen_requests').pluck().get()
  return { db, file, authenticator, signedGet, rows }
}

describe('DeviceAuthenticator replay cache', () => {
  it('accepts a signed request once, and still refuses it after a restart', async () => {
    const { db, file, authenticator, signedGet } = await setup()
    const t0 = Date.now()
    const request = await signedGet(t0)
    expect(await authenticator(db).authenticate(request(), false, t0)).toBe(DEVICE)
    await expect(authenticator(db).authenticate(request(), false, t0 + 1000)).rejects.toMatchObject({
      status: 401,
      detail: 'This signed request was already used',
    })
    db.close()
    // A new process on the same database file.
    const reopened = openDatabase(file)
    try {
      await expect(authenticator(reopened).authenticate(request(), false, t0 + 2000)).rejects.toMatchObject({
        status: 401,
        detail: 'This signed request was already used',
      })
      // Another request of the same device at the same time is a different record: accepted.
      const other = await signedGet(t0 + 1)
      expect(await authenticator(reopened).authenticate(other(), false, t0 + 2000)).toBe(DEVICE)
    } finally {
      reopened.close()
    }
  })

  it('forgets requests once no signature of their time can be accepted any more', async () => {
    const { db, authenticator, signedGet, rows } = await setup()
    const auth = authenticator(db)
    const t0 = Date.now()
    await auth.authenticate((await signedGet(t0))(), false, t0)
    await auth.authenticate((await signedGet(t0 + 10))(), false, t0 + 10)
    expect(rows()).toBe(2)
    // Still inside twice the window: kept.
    const t1 = t0 + 2 * WINDOW_MS - 5
    await auth.authenticate((await signedGet(t1))(), false, t1)
    expect(rows()).toBe(3)
    // Past it: the first two go, the newer one stays.
    const t2 = t0 + 2 * WINDOW_MS + 11
    await auth.authenticate((await signedGet(t2))(), false, t2)
    expect(rows()).toBe(2)
    db.close()
  })

  it('a refused signature or an unknown device leaves nothing behind', async () => {
    const { db, authenticator, rows } = await setup()
    const t0 = Date.now()
    const forged = {
      method: 'GET',
      originalUrl: PATH,
      state: {},
      get: () => deviceAuthorization(DEVICE, t0, 'A'.repeat(86)),
    } as unknown as Context
    await expect(authenticator(db).authenticate(forged, false, t0)).rejects.toMatchObject({ status: 401 })
    const unknown = {
      ...forged,
      get: () => deviceAuthorization('another-device-0002', t0, 'A'.repeat(86)),
    } as Context
    await expect(authenticator(db).authenticate(unknown, false, t0)).rejects.toMatchObject({ status: 401 })
    expect(rows()).toBe(0)
    db.close()
  })
})
