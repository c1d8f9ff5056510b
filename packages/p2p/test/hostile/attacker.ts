/**
 * A hostile libp2p peer built from libp2p, Noise, yamux, identify and ping
 * directly, with no gossipsub router and none of @synod/p2p's validation: it
 * writes gossipsub RPC frames by hand on a `/meshsub` stream (so it can send
 * anything, including frames a router would never produce) and opens
 * request/response streams with any bytes in them.
 */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { identify } from '@libp2p/identify';
import type { Libp2p, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { ping } from '@libp2p/ping';
import { type TCPSocketOptions, tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { frame, MESHSUB, type RawMessage, rpcBytes } from './wire.js';

/** What a request stream came to. */
export type RequestOutcome =
  /** The victim answered (first response byte: its result code). */
  | { readonly kind: 'answered'; readonly result: number; readonly bytes: number }
  /** The victim closed or reset the stream without an answer. */
  | { readonly kind: 'cut' }
  /** Nothing within the timeout. */
  | { readonly kind: 'timeout' }
  /** No stream could be opened (disconnected, banned). */
  | { readonly kind: 'refused' };

/** How this identity fared, in the attacker's own clock (epoch ms, sub-ms precision). */
export interface IdentityReport {
  readonly id: string;
  /** When its first hostile message or request left. */
  firstSentAtMs: number | undefined;
  /** Gossip messages (or requests, or raw frames) sent. */
  sent: number;
  /** Bytes written. */
  bytes: number;
  /** When the victim closed its connection (ban or hang-up), if it did. */
  cutAtMs: number | undefined;
  /** True when the victim refused its connection (the dial failed). */
  refused: boolean;
}

/** The attacker's IP by default: not the honest peers' 127.0.0.1. */
export const ATTACKER_IP = '127.0.0.2';

/** Epoch milliseconds with sub-millisecond precision, comparable across processes of one machine. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

function seedOf(index: number): Uint8Array {
  const s = new Uint8Array(32);
  s[0] = 0xa7;
  s[1] = index & 0xff;
  s[2] = (index >> 8) & 0xff;
  s[3] = (index >> 16) & 0xff;
  s[31] = 0x66;
  return s;
}

export class Attacker {
  readonly report: IdentityReport;
  private gossipStream: Stream | undefined;
  private victim: PeerId | undefined;

  private constructor(
    readonly node: Libp2p,
    readonly index: number,
  ) {
    this.report = {
      id: node.peerId.toString(),
      firstSentAtMs: undefined,
      sent: 0,
      bytes: 0,
      cutAtMs: undefined,
      refused: false,
    };
  }

  /**
   * A new identity (its peer id derived from `index`), dialling from
   * `sourceIp` (any of 127.0.0.0/8 is this host on Linux: an attacker on
   * 127.0.0.2 is another IP than honest peers on 127.0.0.1).
   */
  static async create(index: number, sourceIp = ATTACKER_IP): Promise<Attacker> {
    // net.connect's localAddress (@libp2p/tcp passes dialOpts through; its type omits it)
    const dialOpts = { localAddress: sourceIp } as TCPSocketOptions;
    const node = await createLibp2p({
      privateKey: await generateKeyPairFromSeed('Ed25519', seedOf(index)),
      addresses: { listen: [] },
      transports: [tcp({ dialOpts })],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: { denyDialMultiaddr: (a) => !a.toString().startsWith('/ip4/127.0.0.1/') },
      services: { identify: identify(), ping: ping() },
    });
    // accept the victim's gossipsub stream and read it (as a subscriber would), discarding everything
    await node.handle(MESHSUB, (stream) => {
      void (async () => {
        try {
          for await (const _ of stream) {
            // discarded
          }
        } catch {
          // the victim cut it
        }
      })();
    });
    return new Attacker(node, index);
  }

  get id(): string {
    return this.report.id;
  }

  /** Dials the victim; throws when refused. Records the moment the victim closes the connection. */
  async connect(victimAddress: string): Promise<void> {
    this.victim = peerIdFromString(multiaddr(victimAddress).getComponents().at(-1)?.value ?? '');
    const connection = await this.node
      .dial(multiaddr(victimAddress), { signal: AbortSignal.timeout(5_000) })
      .catch((err: unknown) => {
        this.report.refused = true;
        throw err;
      });
    connection.addEventListener(
      'close',
      () => {
        this.report.cutAtMs ??= epochMs();
      },
      { once: true },
    );
  }

  /** True while a connection to the victim is open. */
  connected(): boolean {
    if (this.victim === undefined) return false;
    return this.node.getConnections(this.victim).some((c) => c.status === 'open');
  }

  private noteSent(messages: number, bytes: number): void {
    this.report.firstSentAtMs ??= epochMs();
    this.report.sent += messages;
    this.report.bytes += bytes;
  }

  /** Opens (once) the gossipsub stream to the victim, subscribing to `topics`. */
  async openGossip(topics: readonly string[]): Promise<boolean> {
    if (this.gossipStream?.status === 'open') return true;
    if (this.victim === undefined) return false;
    try {
      this.gossipStream = await this.node.dialProtocol(this.victim, MESHSUB, {
        signal: AbortSignal.timeout(5_000),
      });
      this.gossipStream.send(frame(rpcBytes([], topics)));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Writes raw bytes on the gossipsub stream (a new one when `fresh`), waiting
   * while the stream is full. `messages` is what the bytes count as. False
   * when the stream is gone.
   */
  async writeGossip(bytes: Uint8Array, messages: number, fresh = false): Promise<boolean> {
    if (fresh || this.gossipStream?.status !== 'open') {
      this.gossipStream = undefined;
      if (this.victim === undefined) return false;
      try {
        this.gossipStream = await this.node.dialProtocol(this.victim, MESHSUB, {
          signal: AbortSignal.timeout(5_000),
        });
      } catch {
        return false;
      }
    }
    const s = this.gossipStream;
    if (s === undefined || s.status !== 'open') return false;
    this.noteSent(messages, bytes.length);
    try {
      if (!s.send(bytes)) await s.onDrain({ signal: AbortSignal.timeout(5_000) });
    } catch {
      return false;
    }
    return s.status === 'open';
  }

  /** Sends one RPC frame with these messages. */
  publish(messages: readonly RawMessage[]): Promise<boolean> {
    return this.writeGossip(frame(rpcBytes(messages)), messages.length);
  }

  /**
   * Opens a request stream on `protocol`, writes `payload` as is (frames
   * included: the caller decides whether they are well formed), closes its
   * side unless `keepOpen`, and reads the answer's first bytes.
   */
  async request(
    protocol: string,
    payload: Uint8Array,
    { timeoutMs = 3_000, keepOpen = false }: { timeoutMs?: number; keepOpen?: boolean } = {},
  ): Promise<RequestOutcome> {
    if (this.victim === undefined || !this.connected()) return { kind: 'refused' };
    let stream: Stream;
    try {
      stream = await this.node.dialProtocol(this.victim, protocol, {
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch {
      return { kind: 'refused' };
    }
    this.noteSent(1, payload.length);
    const timer = setTimeout(() => stream.abort(new Error('attacker: no answer')), timeoutMs);
    try {
      if (payload.length > 0 && !stream.send(payload))
        await stream.onDrain({ signal: AbortSignal.timeout(timeoutMs) });
      if (!keepOpen) await stream.close({ signal: AbortSignal.timeout(timeoutMs) });
      let first: number | undefined;
      let bytes = 0;
      for await (const chunk of stream) {
        const b = chunk.subarray();
        // the first byte is the varint length, the second the result code (for short chunks)
        if (first === undefined && b.length >= 2) first = b[1];
        bytes += b.length;
      }
      return first === undefined ? { kind: 'cut' } : { kind: 'answered', result: first, bytes };
    } catch {
      return stream.status === 'aborted' && this.connected() ? { kind: 'timeout' } : { kind: 'cut' };
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    await this.node.stop();
  }
}
