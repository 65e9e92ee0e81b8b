import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { openPtyPair } from '../../../test/helpers/pty'
import { PedDriver } from '../../ped/driver'
import { main, parseFault } from './cli'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

describe('ims ped simulate', () => {
  it('serves a driver on the other end of a pty and keeps its lab CA in --pki', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => {})
    const pki = mkdtempSync(join(tmpdir(), 'ped-pki-'))
    cleanups.push(() => rmSync(pki, { recursive: true, force: true }))
    const pair = await openPtyPair()
    cleanups.push(() => pair.close())
    const running = await main(['--device', pair.a, '--profile', 'syn', '--serial', 'LAB-7', '--pki', pki])
    cleanups.push(() => running.stop())
    const ped = await PedDriver.open(pair.b, { profile: 'syn' })
    cleanups.push(() => ped.close())
    expect(await ped.getInfo()).toMatchObject({ serial: 'LAB-7', state: 'FACTORY' })
    // The same CA is reused on the next start (the first simulator must release the port first).
    await running.stop()
    const again = await main(['--device', pair.a, '--pki', pki])
    expect(again.simulator.device.identity.trustedCa.fingerprint256).toBe(
      running.simulator.device.identity.trustedCa.fingerprint256,
    )
    await again.stop()
  })

  it('rejects bad flags with a clear message', async () => {
    await expect(main([])).rejects.toThrow(/missing --device/)
    await expect(main(['--device'])).rejects.toThrow(/--device needs a value/)
    await expect(main(['--device', '/dev/null', '--profile', 'xyz'])).rejects.toThrow(/stx or syn/)
    await expect(main(['--device', '/dev/null', '--speed', '9'])).rejects.toThrow(/unknown flag --speed/)
    expect(() => parseFault('melt')).toThrow(/unknown fault "melt"/)
    expect(parseFault('slow:250')).toEqual({ type: 'slow', delayMs: 250 })
    expect(parseFault('tamper:3')).toEqual({ type: 'tamper', afterCommands: 3 })
  })
})
