import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { X509Certificate } from 'node:crypto'
import {
  createSecureContext,
  type DetailedPeerCertificate,
  type SecureContext,
  type TLSSocket,
} from 'node:tls'
import type { Logger } from '../../log'
import type { Alarms } from '../alarms'
import type { TlsIdentities } from './tls-identities'

/** The only requests a directory server makes of an ACS. */
const DS_PATHS = new Set(['/acs/v2/areq'])

/** The directory server behind a request that came over the mutual-TLS listener. */
export interface DsPeer {
  /** The schemes whose DS CAs certified its certificate chain: the only ones it may send AReqs for. */
  brands: readonly string[]
  /** Its certificate's subject, as OpenSSL prints it. */
  subject: string
  /** Its certificate's SHA-256 fingerprint (colon-separated hex): names the very certificate, renewals apart. */
  sha256: string
}

const peers = new WeakMap<IncomingMessage, DsPeer>()

/**
 * The directory server behind a request; undefined for a request that did not come through the mutual-TLS
 * listener (the lab on loopback, the main listener).
 */
export function dsPeerOf(req: IncomingMessage): DsPeer | undefined {
  return peers.get(req)
}

/** The peer's certificate chain as the TLS handshake received it, leaf first. */
function peerChain(socket: TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = []
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true)
  while (cert?.raw && !chain.some((c) => c.raw.equals(cert!.raw))) {
    chain.push(new X509Certificate(cert.raw))
    cert = cert.issuerCertificate
  }
  return chain
}

/**
 * The second listener of the brief: the ACS's directory-server endpoint behind mutual TLS. The DS must
 * present a certificate that chains to one of the stored DS CAs (anything else fails the handshake), the ACS
 * presents the certificate its scheme issued it, and only the DS's endpoint answers here: the console, its
 * API and the cardholder-facing challenge pages stay on the main listener. A DS speaks for the schemes whose
 * DS CAs certified it (`dsPeerOf`): the AReq handler refuses a card of another scheme, and the ledger records
 * which certificate sent each AReq.
 *
 * It listens once a TLS identity exists (at start, or as soon as an operator imports one) and picks up a
 * renewed certificate without a restart.
 */
export class AcsTlsListener {
  private server: Server | undefined
  /** Secure contexts by server name (SNI), rebuilt on every reload. */
  private contextFor: (name: string) => SecureContext = () => {
    throw new Error('no TLS identity')
  }
  private readonly sockets = new Set<Socket>()
  /**
   * Each connection's DS, worked out (chain signatures) at its first AReq rather than at every one of a
   * keep-alive connection's; forgotten at every reload, since the trusted CAs may change.
   */
  private peerBySocket = new WeakMap<TLSSocket, DsPeer>()
  private reloading = Promise.resolve()
  private unsubscribe: (() => void) | undefined

  constructor(
    private readonly identities: TlsIdentities,
    private readonly handler: (req: IncomingMessage, res: ServerResponse) => void,
    private readonly address: { host: string; port: number },
    private readonly alarms: Alarms,
    private readonly log: Logger,
  ) {}

  /**
   * Listens if an identity exists; otherwise raises an alarm and listens when one is imported. Never throws:
   * a listener that cannot start (port taken, unusable certificate) is an alarm, and the main listener stays
   * up so an operator can put it right from the console.
   */
  async start(): Promise<void> {
    this.unsubscribe = this.identities.onChange(() => void this.reload())
    await this.reload()
  }

  /** One reload at a time: an import during the first listen must not start a second server. */
  private reload(): Promise<void> {
    this.reloading = this.reloading
      .then(() => this.apply())
      .catch((err: Error) => {
        this.log.error({ err }, 'the mutual-TLS listener for directory servers could not start')
        this.alarms.raise(
          'acs-tls-listener',
          'listener',
          `The mutual-TLS listener for directory servers could not start: ${err.message}`,
        )
      })
    return this.reloading
  }

  /** `https://host:port` while listening. */
  get url(): string | undefined {
    const a = this.server?.address() as AddressInfo | null | undefined
    if (!a) return undefined
    return `https://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`
  }

  private async apply(): Promise<void> {
    const contexts = this.identities.listenerContexts()
    if (!contexts) {
      this.alarms.raise(
        'acs-tls-missing',
        'listener',
        'The mutual-TLS listener for directory servers is configured but no TLS identity is stored: import one (PUT /api/acs/tls/{brand})',
      )
      return
    }
    this.peerBySocket = new WeakMap()
    const byName = new Map<string, SecureContext>()
    this.contextFor = (name) => {
      let ctx = byName.get(name)
      if (!ctx) byName.set(name, (ctx = createSecureContext(contexts.forName(name))))
      return ctx
    }
    if (this.server) {
      this.server.setSecureContext({ ...contexts.byDefault })
      this.log.info('mutual-TLS listener reloaded its certificates')
      return
    }
    const server = createServer(
      {
        ...contexts.byDefault,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        SNICallback: (name, cb) => {
          try {
            cb(null, this.contextFor(name))
          } catch (err) {
            cb(err as Error)
          }
        },
        headersTimeout: 20_000,
        requestTimeout: 30_000,
      },
      (req, res) => this.route(req, res),
    )
    server.keepAliveTimeout = 5_000
    server.on('connection', (s: Socket) => {
      this.sockets.add(s)
      s.once('close', () => this.sockets.delete(s))
    })
    server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) =>
      this.log.warn(
        { err: err.message, code: err.code, from: socket.remoteAddress },
        'mutual-TLS handshake refused',
      ),
    )
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.address.port, this.address.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.server = server
    this.alarms.clear('acs-tls-missing', 'listener')
    this.alarms.clear('acs-tls-listener', 'listener')
    this.log.info({ url: this.url }, 'ACS mutual-TLS listener for directory servers')
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]
    if (DS_PATHS.has(path)) {
      const socket = req.socket as TLSSocket
      let peer = this.peerBySocket.get(socket)
      if (!peer) {
        // The handshake verified a certificate, so the chain has a leaf; an empty one would certify no scheme.
        const chain = peerChain(socket)
        peer = {
          brands: this.identities.brandsCertifying(chain),
          subject: chain[0]?.subject.replaceAll('\n', ', ') ?? '',
          sha256: chain[0]?.fingerprint256 ?? '',
        }
        this.peerBySocket.set(socket, peer)
      }
      peers.set(req, peer)
      return this.handler(req, res)
    }
    const body = JSON.stringify({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'This listener serves the directory-server endpoint only (POST /acs/v2/areq)',
    })
    res.writeHead(404, {
      'content-type': 'application/problem+json',
      'content-length': Buffer.byteLength(body),
    })
    res.end(body)
  }

  async close(): Promise<void> {
    this.unsubscribe?.()
    await this.reloading
    const server = this.server
    if (!server) return
    this.server = undefined
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeIdleConnections()
    const force = setTimeout(() => {
      for (const s of this.sockets) s.destroy()
    }, 5_000)
    force.unref()
    await closed
    clearTimeout(force)
  }
}
