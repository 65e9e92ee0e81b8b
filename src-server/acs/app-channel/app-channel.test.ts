import { execFileSync } from 'node:child_process'
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compactDecrypt } from 'jose'
import { afterAll, describe, expect, it } from 'vitest'
import { generateTestPki } from '../../lab/pki'
import { buildChallengeCRes, buildFinalCRes, cresViolations } from '../protocol/cres'
import { buildErro } from '../protocol/erro'
import { concatKdf, deriveCek } from './concat-kdf'
import { importSdkPublicKey, InvalidSdkKeyError, sharedSecret, type EcPublicJwk } from './ecdh'
import {
  a128cbcHs256Decrypt,
  a128cbcHs256Encrypt,
  counterIv,
  decryptParsed,
  directionKey,
  encryptCompact,
  parseCompact,
  type ContentEncryption,
} from './jwe'
import {
  establishAppChannel,
  INITIAL_APP_CHANNEL_STATE,
  openCReq,
  sealCRes,
  type AppTransaction,
} from './session'
import { signAcsContent, verifyAcsSignedContent } from './signed-content'

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const PYTHON = '/usr/bin/python3'
const pythonHas = (mods: string) =>
  existsSync(PYTHON) &&
  (() => {
    try {
      execFileSync(PYTHON, ['-c', `import ${mods}`])
      return true
    } catch {
      return false
    }
  })()
const oracleAvailable = pythonHas('jwcrypto, cryptography')
const dir = mkdtempSync(join(tmpdir(), 'app-channel-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('JWE primitives against the RFC known answers', () => {
  it('RFC 7518 Appendix B.1 (AES_128_CBC_HMAC_SHA_256)', () => {
    const key = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f')
    const p = Buffer.from(
      'A cipher system must not be required to be secret, and it must be able to fall into the hands of the enemy without inconvenience',
    )
    const iv = hex('1af38c2dc2b96ffdd86694092341bc04')
    const a = Buffer.from('The second principle of Auguste Kerckhoffs')
    const sealed = a128cbcHs256Encrypt(key, iv, a, p)
    expect(sealed.ciphertext.toString('hex')).toBe(
      'c80edfa32ddf39d5ef00c0b468834279a2e46a1b8049f792f76bfe54b903a9c9a94ac9b47ad2655c5f10f9aef71427e2fc6f9b3f399a221489f16362c703233609d45ac69864e3321cf82935ac4096c86e133314c54019e8ca7980dfa4b9cf1b384c486f3a54c51078158ee5d79de59fbd34d848b3d69550a67646344427ade54b8851ffb598f7f80074b9473c82e2db',
    )
    expect(sealed.tag.toString('hex')).toBe('652c3fa36b0a7c5b3219fab3a30bc1c4')
    expect(a128cbcHs256Decrypt(key, iv, a, sealed)).toEqual(p)
    expect(() => a128cbcHs256Decrypt(key, iv, Buffer.from('other aad'), sealed)).toThrow(/tag/)
  })

  it('RFC 7520 §5.6 (dir + A128GCM): decrypts and re-encrypts byte for byte', () => {
    const compact =
      'eyJhbGciOiJkaXIiLCJraWQiOiI3N2M3ZTJiOC02ZTEzLTQ1Y2YtODY3Mi02MTdiNWI0NTI0M2EiLCJlbmMiOiJBMTI4R0NNIn0..refa467QzzKx6QAB.JW_i_f52hww_ELQPGaYyeAB6HYGcR559l9TYnSovc23XJoBcW29rHP8yZOZG7YhLpT1bjFuvZPjQS-m0IFtVcXkZXdH_lr_FrdYt9HRUYkshtrMmIUAyGmUnd9zMDB2n0cRDIHAzFVeJUDxkUwVAE7_YGRPdcqMyiBoCO-FBdE-Nceb4h3-FtBP-c_BIwCPTjb9o0SbdcdREEMJMyZBH8ySWMVi1gPD9yxi-aQpGbSv_F9N4IZAxscj5g-NJsUPbjk29-s7LJAGb15wEBtXphVCgyy53CoIKLHHeJHXex45Uz9aKZSRSInZI-wjsY0yu3cT4_aQ3i1o-tiE-F8Ios61EKgyIQ4CWao8PFMj8TTnp.vbb32Xvllea2OtmHAdccRQ'
    const plaintext =
      'You can trust us to stick with you through thick and thin\u2013to the bitter end. And you can trust us to keep any secret of yours\u2013closer than you keep it yourself. But you cannot trust us to let you face trouble alone, and go off without a word. We are your friends, Frodo.'
    const key = Buffer.from('XctOhJAkA-pD9Lh7ZgW_2A', 'base64url')
    const parsed = parseCompact(compact)
    expect(decryptParsed(parsed, key).toString('utf8')).toBe(plaintext)
    const again = encryptCompact(
      { alg: 'dir', kid: '77c7e2b8-6e13-45cf-8672-617b5b45243a', enc: 'A128GCM' },
      key,
      parsed.iv,
      Buffer.from(plaintext),
    )
    expect(again).toBe(compact)
  })

  it('counter IVs and direction keys', () => {
    expect(counterIv('A128GCM', 'sdk-to-acs', 5).toString('hex')).toBe('000000000000000000000005')
    expect(counterIv('A128CBC-HS256', 'acs-to-sdk', 255).toString('hex')).toBe(
      'ffffffffffffffffffffffffffffffff',
    )
    const cek = Buffer.from([...Array(32).keys()])
    expect(directionKey(cek, 'A128GCM', 'sdk-to-acs')).toEqual(cek.subarray(0, 16))
    expect(directionKey(cek, 'A128GCM', 'acs-to-sdk')).toEqual(cek.subarray(16))
    expect(directionKey(cek, 'A128CBC-HS256', 'acs-to-sdk')).toEqual(cek)
  })
})

describe('Concat KDF', () => {
  it('matches the construction of vectors.json (one SHA-256 round over the length-prefixed OtherInfo)', () => {
    const z = hex('7d3e1a0b5c2f4e6d8a9b0c1d2e3f405162738495a6b7c8d9eaf0b1c2d3e4f506')
    const ref = '3DS_LOA_SDK_PPFU_020100_00007'
    const refLen = Buffer.alloc(4)
    refLen.writeUInt32BE(ref.length)
    const manual = createHash('sha256')
      .update(
        Buffer.concat([
          hex('00000001'),
          z,
          hex('00000000'),
          hex('00000000'),
          refLen,
          Buffer.from(ref),
          hex('00000100'),
        ]),
      )
      .digest()
    expect(deriveCek(z, ref)).toEqual(manual)
    // Longer keys take further rounds with an incremented counter.
    const long = concatKdf(z, {
      algorithmId: Buffer.alloc(0),
      partyUInfo: Buffer.alloc(0),
      partyVInfo: Buffer.alloc(0),
      keyDataLen: 384,
    })
    expect(long).toHaveLength(48)
  })

  it.skipIf(!oracleAvailable)('equals ConcatKDFHash from Debian python3-cryptography', () => {
    const z = hex('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff')
    const ref = 'SDK-REF-ÄÖ-1'
    const py = execFileSync(PYTHON, [
      '-c',
      `import sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
ref=sys.argv[2].encode()
info=bytes(4)+bytes(4)+len(ref).to_bytes(4,'big')+ref+(256).to_bytes(4,'big')
print(ConcatKDFHash(algorithm=hashes.SHA256(),length=32,otherinfo=info).derive(bytes.fromhex(sys.argv[1])).hex())`,
      z.toString('hex'),
      ref,
    ])
    expect(deriveCek(z, ref).toString('hex')).toBe(py.toString().trim())
  })
})

describe('SDK key import', () => {
  it('rejects points off the curve and wrong key types', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const jwk = publicKey.export({ format: 'jwk' }) as EcPublicJwk
    expect(() => importSdkPublicKey(jwk)).not.toThrow()
    const y = Buffer.from(jwk.y, 'base64url')
    y[31] ^= 1
    expect(() => importSdkPublicKey({ ...jwk, y: y.toString('base64url') })).toThrow(InvalidSdkKeyError)
    expect(() => importSdkPublicKey({ ...jwk, crv: 'P-384' })).toThrow(InvalidSdkKeyError)
  })
})

// ---- An SDK emulator: what a spec-aligned 3DS SDK does on its side of the channel.
function sdkSide(sdkRef: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' }) as EcPublicJwk
  return {
    privateKey,
    jwk,
    cekWith: (acsPub: EcPublicJwk) => deriveCek(sharedSecret(privateKey, importSdkPublicKey(acsPub)), sdkRef),
  }
}

const IDS = {
  acsTransID: '3c8b7a1e-6c2f-4a52-9a0c-1b2e3d4f5a6b',
  threeDSServerTransID: '8a880dc0-d2d2-4067-bcb1-b08d1690b26e',
  sdkTransID: 'b2385523-a66c-4907-ac3c-91848e8c0067',
  messageVersion: '2.2.0' as const,
}

function sdkCReq(
  cek: Buffer,
  enc: ContentEncryption,
  counter: number,
  extra: Record<string, unknown> = {},
  ivCounter = counter,
): string {
  const creq = { messageType: 'CReq', ...IDS, sdkCounterStoA: String(counter).padStart(3, '0'), ...extra }
  return encryptCompact(
    { alg: 'dir', enc, kid: IDS.acsTransID },
    directionKey(cek, enc, 'sdk-to-acs'),
    counterIv(enc, 'sdk-to-acs', ivCounter),
    Buffer.from(JSON.stringify(creq)),
  )
}

function pythonOracle(
  sdkPrivPem: string,
  acsPubPem: string,
  sdkRef: string,
  jwe: string,
): { cek: string; iv: string; payload: unknown } {
  const sdkPath = join(dir, 'sdk_priv.pem')
  const acsPath = join(dir, 'acs_pub.pem')
  writeFileSync(sdkPath, sdkPrivPem)
  writeFileSync(acsPath, acsPubPem)
  // The oracle script of acs-3ds.md §14, verbatim in substance.
  const script = `import sys, base64
from cryptography.hazmat.primitives import serialization, hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from jwcrypto import jwk, jwe
priv = serialization.load_pem_private_key(open(sys.argv[1], 'rb').read(), None)
pub = serialization.load_pem_public_key(open(sys.argv[2], 'rb').read())
ref, token = sys.argv[3].encode(), sys.argv[4]
z = priv.exchange(ec.ECDH(), pub)
info = bytes(4) + bytes(4) + len(ref).to_bytes(4, 'big') + ref + (256).to_bytes(4, 'big')
cek = ConcatKDFHash(algorithm=hashes.SHA256(), length=32, otherinfo=info).derive(z)
enc = jwe.JWE(); enc.deserialize(token)
key = cek[16:] if enc.jose_header['enc'] == 'A128GCM' else cek
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b'=').decode()
enc.decrypt(jwk.JWK(kty='oct', k=b64(key)))
iv = base64.urlsafe_b64decode(token.split('.')[2] + '==')
print('CEK', cek.hex()); print('IV', iv.hex()); print(enc.payload.decode())
`
  const out = execFileSync(PYTHON, ['-', sdkPath, acsPath, sdkRef, jwe], { input: script })
    .toString()
    .trim()
    .split('\n')
  return { cek: out[0].slice(4), iv: out[1].slice(3), payload: JSON.parse(out.slice(2).join('\n')) }
}

describe.each(['A128CBC-HS256', 'A128GCM'] as const)('app channel session with %s', (enc) => {
  const sdkRef = '3DS_LOA_SDK_PPFU_020100_00007'
  const sdk = sdkSide(sdkRef)
  const setup = establishAppChannel(sdk.jwk, sdkRef)
  const sdkCek = sdk.cekWith(setup.acsEphemPubKey)
  const tx = (state = INITIAL_APP_CHANNEL_STATE): AppTransaction => ({ ...IDS, cek: setup.cek, state })

  it('both sides derive the same CEK', () => {
    expect(sdkCek).toEqual(setup.cek)
  })

  it('decrypts CReqs in sequence and rejects replayed, skipped or wrongly-IVed counters with 302', () => {
    const first = openCReq(sdkCReq(sdkCek, enc, 0), tx())
    expect(first.kind).toBe('creq')
    if (first.kind !== 'creq') return
    expect(first.state).toEqual({ enc, nextSdkCounter: 1, nextAcsCounter: 0 })
    const replay = openCReq(sdkCReq(sdkCek, enc, 0), tx(first.state))
    expect(replay).toMatchObject({
      kind: 'erro',
      erro: { errorCode: '302', errorDetail: 'sdkCounterStoA', errorMessageType: 'CReq' },
    })
    expect(openCReq(sdkCReq(sdkCek, enc, 2), tx(first.state))).toMatchObject({
      kind: 'erro',
      erro: { errorCode: '302' },
    })
    expect(openCReq(sdkCReq(sdkCek, enc, 1, {}, 7), tx(first.state))).toMatchObject({
      kind: 'erro',
      erro: { errorCode: '302' },
    })
    const second = openCReq(sdkCReq(sdkCek, enc, 1, { challengeDataEntry: '123456' }), tx(first.state))
    expect(second).toMatchObject({ kind: 'creq', creq: { challengeDataEntry: '123456' } })
  })

  it('answers 302 to a tampered or foreign-key JWE, and 301 to foreign IDs', () => {
    const token = sdkCReq(sdkCek, enc, 0)
    const parts = token.split('.')
    const ct = Buffer.from(parts[3], 'base64url')
    ct[0] ^= 1
    parts[3] = ct.toString('base64url')
    expect(openCReq(parts.join('.'), tx())).toMatchObject({ kind: 'erro', erro: { errorCode: '302' } })
    expect(openCReq(sdkCReq(Buffer.alloc(32, 7), enc, 0), tx())).toMatchObject({
      kind: 'erro',
      erro: { errorCode: '302' },
    })
    expect(
      openCReq(sdkCReq(sdkCek, enc, 0, { sdkTransID: 'dbd64fcb-c19a-4728-8849-e3d50bfdde39' }), tx()),
    ).toMatchObject({ kind: 'erro', erro: { errorCode: '301' } })
    expect(openCReq('not a jwe', tx())).toMatchObject({ kind: 'erro', erro: { errorCode: '302' } })
  })

  it('detects a plain-JSON Erro from the SDK', () => {
    const erro = {
      ...buildErro({
        code: '203',
        detail: 'acsUiType',
        messageType: 'CRes',
        messageVersion: '2.2.0',
        ids: IDS,
      }),
      errorComponent: 'C',
    }
    expect(openCReq(JSON.stringify(erro), tx())).toMatchObject({
      kind: 'sdk-erro',
      erro: { errorCode: '203', errorComponent: 'C' },
    })
  })

  it('encrypts CRes that jose and the Python oracle decrypt, with FF…FF‖counter IVs', async () => {
    const opened = openCReq(sdkCReq(sdkCek, enc, 0), tx())
    if (opened.kind !== 'creq') throw new Error('CReq refused')
    const cres = buildChallengeCRes(IDS, 0, {
      acsUiType: '01',
      challengeInfoHeader: 'Verify',
      challengeInfoText: 'Enter the code sent to ***1234',
      submitAuthenticationLabel: 'Submit',
    })
    const sealed = sealCRes(cres, tx(opened.state))
    expect(sealed.state.nextAcsCounter).toBe(1)
    const { plaintext, protectedHeader } = await compactDecrypt(
      sealed.jwe,
      directionKey(sdkCek, enc, 'acs-to-sdk'),
    )
    expect(protectedHeader).toMatchObject({ alg: 'dir', enc, kid: IDS.acsTransID })
    expect(JSON.parse(Buffer.from(plaintext).toString())).toEqual(JSON.parse(JSON.stringify(cres)))
    expect(() => sealCRes(cres, tx(sealed.state))).toThrow(/out of sequence/)
    const final = sealCRes(buildFinalCRes(IDS, 'Y', { acsCounterAtoS: 1 }), tx(sealed.state))

    if (!oracleAvailable) return
    const sdkPem = sdk.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
    const acsPem = createPublicKey({ key: { ...setup.acsEphemPubKey }, format: 'jwk' })
      .export({ format: 'pem', type: 'spki' })
      .toString()
    for (const [jwe, counter] of [
      [sealed.jwe, '00'],
      [final.jwe, '01'],
    ] as const) {
      const out = pythonOracle(sdkPem, acsPem, sdkRef, jwe)
      expect(out.cek).toBe(setup.cek.toString('hex'))
      expect(out.iv).toBe('ff'.repeat(enc === 'A128GCM' ? 11 : 15) + counter)
      const payload = out.payload as Record<string, unknown>
      expect(payload.acsCounterAtoS).toBe(`0${counter}`)
      expect(cresViolations(payload, 'APP')).toEqual([])
      expect(Object.values(payload)).not.toContain('')
    }
  })
})

describe('acsSignedContent', () => {
  const payload = () => {
    const sdk = sdkSide('ref')
    const setup = establishAppChannel(sdk.jwk, 'ref')
    return {
      acsURL: 'https://acs.example.test/acs/v2/app',
      acsEphemPubKey: setup.acsEphemPubKey,
      sdkEphemPubKey: sdk.jwk,
    }
  }
  it.each([
    ['PS256', 'RSA'],
    ['ES256', 'EC'],
  ] as const)('%s with x5c = leaf + intermediate verifies against the DS root', async (alg, leafKeyType) => {
    const pki = generateTestPki({ leafKeyType })
    const p = payload()
    const jws = await signAcsContent(p, { alg, privateKey: pki.leafKey, chainPem: pki.chainPem })
    const header = JSON.parse(Buffer.from(jws.split('.')[0], 'base64url').toString())
    expect(header.alg).toBe(alg)
    expect(header.x5c).toHaveLength(2)
    if (alg === 'ES256') expect(Buffer.from(jws.split('.')[2], 'base64url')).toHaveLength(64)
    expect(await verifyAcsSignedContent(jws, [pki.rootPem])).toEqual(p)
    await expect(verifyAcsSignedContent(jws, [generateTestPki().rootPem])).rejects.toThrow(/trusted root/)
    const leafOnly = await signAcsContent(p, { alg, privateKey: pki.leafKey, chainPem: [pki.leafPem] })
    await expect(verifyAcsSignedContent(leafOnly, [pki.rootPem])).rejects.toThrow(/trusted root/)
  })
})
