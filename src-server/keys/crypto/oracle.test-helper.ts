import { spawnSync } from 'node:child_process'

/**
 * Independent oracle: Debian's python3-cryptography (the scripts of key-injection.md §11, condensed).
 * Tests that use it skip when /usr/bin/python3 lacks the module.
 */
const PYTHON = '/usr/bin/python3'

export const pythonCryptographyAvailable: boolean =
  spawnSync(PYTHON, ['-c', 'import cryptography'], { stdio: 'ignore' }).status === 0

const PRELUDE = `
import sys, json
try:
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC
X = lambda a, b: bytes(p ^ q for p, q in zip(a, b))
def T(k): return TripleDES(k * 3 if len(k) == 8 else (k + k[:8] if len(k) == 16 else k))
def E(k, d): return Cipher(T(k), modes.ECB()).encryptor().update(d)
def A(k, d): return Cipher(algorithms.AES(k), modes.ECB()).encryptor().update(d)
def cmac(alg, m):
    c = CMAC(alg); c.update(m); return c.finalize()
`

/** Run a python snippet that reads JSON `args` and prints one JSON line. */
export function runOracle<T>(script: string, args: unknown): T {
  const result = spawnSync(PYTHON, ['-c', PRELUDE + script], {
    input: JSON.stringify(args),
    encoding: 'utf8',
  })
  if (result.status !== 0) throw new Error(`oracle failed: ${result.stderr}`)
  return JSON.parse(result.stdout) as T
}
