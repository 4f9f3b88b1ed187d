/**
 * A minimal TURN client (RFC 8656): Allocate with long-term credentials, CreatePermission, Send indications and
 * Data indications, over UDP or TLS. Enough to prove a relay works end to end; no channels, no refresh.
 *
 * The STUN wire format (message and attribute codec, MESSAGE-INTEGRITY, FINGERPRINT) is @msimerson/stun's; no
 * maintained npm package does the TURN client transactions themselves (node-turn is a server, the STUN packages
 * stop at Binding), so the few exchanges below are this project's, tested against real coturn.
 */
import { createHash } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { isIP, type LookupFunction } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import stun, { type StunAddress, type StunResponse } from "@msimerson/stun";

const C = stun.constants;
/** REQUESTED-TRANSPORT value: the protocol number of UDP in the first octet (RFC 8656 §18.7). */
const UDP_TRANSPORT = 17 << 24;
const HEADER_LENGTH = 20;

/** Where the TURN server listens. `tls`: TURN over TLS (a `turns:` URI), SNI = `servername`. */
export type TurnServerAddress =
  | { readonly transport: "udp"; readonly host: string; readonly port: number }
  | {
      readonly transport: "tls";
      readonly host: string;
      readonly port: number;
      /** TLS server name (SNI) and the name the certificate must match. */
      readonly servername: string;
      /** PEM trust anchors instead of the system's (tests). */
      readonly ca?: string | readonly string[];
      /** Name resolution instead of DNS (the smoke test's --resolve pins). */
      readonly lookup?: LookupFunction;
    };

/** Long-term credentials, e.g. the TURN REST pair Prosody's mod_external_services hands out. */
export interface TurnCredentials {
  readonly username: string;
  readonly password: string;
}

/** The server answered with an error response; `code` is the STUN error code (401, 403, 437, ...). */
export class TurnRefusal extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    readonly reason: string,
  ) {
    super(`TURN ${method} refused: ${String(code)} ${reason}`);
    this.name = "TurnRefusal";
  }
}

interface Transport {
  send(message: Buffer): void;
  close(): void;
  /** True when the transport itself retransmits (TCP/TLS); UDP requests are retransmitted by us. */
  readonly reliable: boolean;
}

/** Splits a TCP/TLS byte stream into STUN messages (each is a 20-byte header plus its stated length). */
function streamFramer(onMessage: (message: Buffer) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= HEADER_LENGTH) {
      const total = HEADER_LENGTH + pending.readUInt16BE(2);
      if (pending.length < total) return;
      onMessage(pending.subarray(0, total));
      pending = pending.subarray(total);
    }
  };
}

function connectTransport(
  server: TurnServerAddress,
  onMessage: (message: Buffer) => void,
  onError: (error: Error) => void,
  timeoutMs: number,
): Promise<Transport> {
  if (server.transport === "udp") {
    const family = isIP(server.host) === 6 ? "udp6" : "udp4";
    const socket: UdpSocket = createSocket(family);
    socket.on("message", (message) => onMessage(message));
    socket.on("error", onError);
    return new Promise((resolve, reject) => {
      socket.once("error", reject);
      socket.connect(server.port, server.host, () => {
        socket.off("error", reject);
        resolve({ send: (message) => socket.send(message), close: () => socket.close(), reliable: false });
      });
    });
  }
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = tlsConnect({
      host: server.host,
      port: server.port,
      servername: server.servername,
      ...(server.ca === undefined ? {} : { ca: server.ca as string | string[] }),
      ...(server.lookup === undefined ? {} : { lookup: server.lookup }),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TLS connection to ${server.host}:${String(server.port)} timed out after ${String(timeoutMs)} ms`));
    }, timeoutMs);
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      socket.on("error", onError);
      socket.on("data", streamFramer(onMessage));
      resolve({ send: (message) => socket.write(message), close: () => socket.destroy(), reliable: true });
    });
  });
}

/** Long-term credential key (RFC 8489 §9.2.2): MD5(username ":" realm ":" password). */
export function longTermKey(credentials: TurnCredentials, realm: string): Buffer {
  return createHash("md5").update(`${credentials.username}:${realm}:${credentials.password}`, "utf8").digest();
}

/** An open connection to a TURN server; `allocate` first, then permissions and data. */
export class TurnClient {
  private readonly waiting = new Map<string, (response: StunResponse) => void>();
  private readonly dataListeners = new Set<(data: Buffer, from: StunAddress) => void>();
  private auth: { realm: string; nonce: string; key: Buffer; username: string } | undefined;
  private failure: Error | undefined;

  private constructor(
    private readonly transport: Transport,
    private readonly timeoutMs: number,
  ) {}

  /** Connects (UDP: binds a local socket; TLS: handshakes, verifying the certificate). */
  static async connect(server: TurnServerAddress, options: { timeoutMs?: number } = {}): Promise<TurnClient> {
    const timeoutMs = options.timeoutMs ?? 5_000;
    // The transport's callbacks reach the client once it exists (nothing arrives before the first request).
    const holder: { client?: TurnClient } = {};
    const transport = await connectTransport(
      server,
      (message) => holder.client?.receive(message),
      (error) => holder.client?.fail(error),
      timeoutMs,
    );
    holder.client = new TurnClient(transport, timeoutMs);
    return holder.client;
  }

  /**
   * Allocates a UDP relay with `credentials`: the unauthenticated request draws the realm and nonce (401), the
   * second carries MESSAGE-INTEGRITY. Resolves with the relayed address (as the server advertises it) and the
   * client's address as the server saw it. Without `credentials` only the unauthenticated request is sent (a
   * server that answers it with an allocation is an open relay).
   * @throws TurnRefusal when the server refuses (401 for wrong or expired credentials, 486 over quota, ...).
   */
  async allocate(credentials: TurnCredentials | undefined): Promise<{ relayed: StunAddress; mapped: StunAddress | undefined; lifetimeSeconds: number }> {
    const build = () => {
      const request = stun.createMessage(C.STUN_ALLOCATE_REQUEST!);
      request.addAttribute(C.STUN_ATTR_REQUESTED_TRANSPORT!, UDP_TRANSPORT);
      return request;
    };
    const first = await this.transaction(build());
    let response = first;
    if (first.getError()?.code === 401 && credentials !== undefined) {
      const realm = first.getRealm();
      const nonce = first.getNonce();
      if (realm === undefined || nonce === undefined) throw new TurnRefusal("Allocate", 401, "challenge without REALM or NONCE");
      this.auth = { realm, nonce, key: longTermKey(credentials, realm), username: credentials.username };
      response = await this.authenticated("Allocate", build);
    }
    this.check("Allocate", response);
    const relayed = response.getAttribute(C.STUN_ATTR_XOR_RELAYED_ADDRESS!)?.value as StunAddress | undefined;
    if (relayed === undefined) throw new Error("TURN Allocate succeeded without XOR-RELAYED-ADDRESS");
    const lifetime = response.getAttribute(C.STUN_ATTR_LIFETIME!)?.value;
    return { relayed, mapped: response.getXorAddress(), lifetimeSeconds: typeof lifetime === "number" ? lifetime : 0 };
  }

  /**
   * Permits `peerAddress` to send to, and receive from, the relay (RFC 8656 §9).
   * @throws TurnRefusal 403 when the server's policy forbids that peer (coturn's denied-peer-ip).
   */
  async createPermission(peerAddress: string): Promise<void> {
    const response = await this.authenticated("CreatePermission", () => {
      const request = stun.createMessage(C.STUN_CREATE_PERMISSION_REQUEST!);
      // The port is ignored: a permission covers every port of the peer's address (RFC 8656 §9).
      request.addAttribute(C.STUN_ATTR_XOR_PEER_ADDRESS!, peerAddress, 0);
      return request;
    });
    this.check("CreatePermission", response);
  }

  /** Sends `data` from the relay to `peer` (a Send indication; no answer, the peer's reply arrives as Data). */
  send(peer: { address: string; port: number }, data: Buffer): void {
    const indication = stun.createMessage(C.STUN_SEND_INDICATION!);
    indication.addAttribute(C.STUN_ATTR_XOR_PEER_ADDRESS!, peer.address, peer.port);
    indication.addAttribute(C.STUN_ATTR_DATA!, data);
    this.transport.send(indication.toBuffer());
  }

  /** The next Data indication's payload and the peer it came from; rejects after `timeoutMs`. */
  nextData(timeoutMs = this.timeoutMs): Promise<{ data: Buffer; from: StunAddress }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.dataListeners.delete(listener);
        reject(new Error(`no data through the relay within ${String(timeoutMs)} ms`));
      }, timeoutMs);
      const listener = (data: Buffer, from: StunAddress) => {
        clearTimeout(timer);
        this.dataListeners.delete(listener);
        resolve({ data, from });
      };
      this.dataListeners.add(listener);
    });
  }

  close(): void {
    this.transport.close();
  }

  private check(method: string, response: StunResponse): void {
    const error = response.getError();
    if (error !== undefined) throw new TurnRefusal(method, error.code, error.reason);
    if (this.auth !== undefined && !stun.validateMessageIntegrity(response, this.auth.key)) {
      throw new Error(`TURN ${method}: the response's MESSAGE-INTEGRITY does not match (not the server holding our credentials)`);
    }
  }

  /** One request with USERNAME, REALM, NONCE and MESSAGE-INTEGRITY; retried once with a fresh nonce on 438. */
  private async authenticated(method: string, build: () => ReturnType<typeof stun.createMessage>): Promise<StunResponse> {
    const auth = this.auth;
    if (auth === undefined) throw new Error(`TURN ${method} before a successful Allocate`);
    for (let attempt = 0; ; attempt++) {
      const request = build();
      request.addUsername(auth.username);
      request.addRealm(auth.realm);
      request.addNonce(auth.nonce);
      request.addMessageIntegrity(auth.key);
      request.addFingerprint();
      const response = await this.transaction(request);
      const nonce = response.getNonce();
      if (response.getError()?.code === 438 && nonce !== undefined && attempt === 0) {
        auth.nonce = nonce;
        continue;
      }
      return response;
    }
  }

  /** Sends a request and waits for the response with its transaction id (UDP: retransmitted every 500 ms). */
  private transaction(request: ReturnType<typeof stun.createMessage>): Promise<StunResponse> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = request.transactionId.toString("hex");
    const bytes = request.toBuffer();
    return new Promise((resolve, reject) => {
      let retransmit: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        clearInterval(retransmit);
        this.waiting.delete(id);
        reject(new Error(`no answer from the TURN server within ${String(this.timeoutMs)} ms`));
      }, this.timeoutMs);
      this.waiting.set(id, (response) => {
        clearTimeout(timer);
        clearInterval(retransmit);
        resolve(response);
      });
      this.transport.send(bytes);
      if (!this.transport.reliable) retransmit = setInterval(() => this.transport.send(bytes), 500);
    });
  }

  private receive(message: Buffer): void {
    let decoded: StunResponse;
    try {
      decoded = stun.decode(message);
    } catch {
      return; // not STUN: ignore, as RFC 8656 §12 asks of unknown packets
    }
    if (decoded.type === C.STUN_DATA_INDICATION) {
      const peer = decoded.getAttribute(C.STUN_ATTR_XOR_PEER_ADDRESS!)?.value as StunAddress | undefined;
      const data = decoded.getAttribute(C.STUN_ATTR_DATA!)?.value;
      if (peer !== undefined && Buffer.isBuffer(data)) for (const listener of this.dataListeners) listener(data, peer);
      return;
    }
    const id = decoded.transactionId.toString("hex");
    const waiter = this.waiting.get(id);
    if (waiter === undefined) return;
    this.waiting.delete(id);
    waiter(decoded);
  }

  private fail(error: Error): void {
    this.failure = error;
  }
}
