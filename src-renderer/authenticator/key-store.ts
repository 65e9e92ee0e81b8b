import type { StoredDevice } from './device-client'

/**
 * The device's identity in IndexedDB: its id and its key pair. CryptoKey objects are stored as they are
 * (structured clone), so the non-extractable private key stays non-extractable: it never becomes bytes.
 */
const DB = 'ims-authenticator'
const STORE = 'device'
const KEY = 'current'

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1)
    req.onupgradeneeded = () => req.result.createObjectStore(STORE)
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error ?? new Error('IndexedDB is not available'))
  })
}

async function run<T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open()
  try {
    return await new Promise<T>((resolve, reject) => {
      const req = op(db.transaction(STORE, mode).objectStore(STORE))
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'))
    })
  } finally {
    db.close()
  }
}

export const loadDevice = () => run<StoredDevice | undefined>('readonly', (s) => s.get(KEY))
export const saveDevice = (d: StoredDevice) => run('readwrite', (s) => s.put(d, KEY)).then(() => undefined)
export const forgetDevice = () => run('readwrite', (s) => s.delete(KEY)).then(() => undefined)
