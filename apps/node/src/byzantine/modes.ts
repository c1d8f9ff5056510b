/**
 * Test-only misbehaviour of `synodd start` (`--unsafe-byzantine <mode>`),
 * for the chaos runs on real processes: the node runs as usual, and its
 * transport (what it gossips) is wrapped so that the validator misbehaves
 * the way one Byzantine validator can. Refused unless the chain id starts
 * with `test-`, so no real chain's validator can be started this way.
 *
 * - `equivocate`: every vote the node gossips is followed by a second vote
 *   of the same (height, round, type) for another block (nil ↔ a made-up
 *   hash), signed with the raw key (the file signer's double-sign guard is
 *   bypassed). Honest nodes must turn the pair into duplicate-vote evidence,
 *   commit it, and the ledger must slash and tombstone the validator.
 * - `double-propose`: every proposal it gossips is followed by a second one
 *   of the same (height, round) for another block (the same block with a
 *   later time).
 * - `silent`: it gossips no proposal and no vote, and answers the liveness
 *   protocol with nothing (which would hand its votes out); it still follows
 *   and serves the chain.
 * - `garbage`: on every protocol the node registers, to every peer it
 *   connects to (`requestGarbage`): random bytes and oversize frames on
 *   libp2p's identify and ping, a malformed request on each of Synod's
 *   request/response protocols (status, block-by-hash, block-range, pex,
 *   consensus), then a request one byte over each one's limit, then random
 *   bytes and oversize frames on gossipsub's streams (the malformed ones
 *   come first, so that every honest peer sees each Synod protocol before
 *   the penalties add up to a ban); it answers requests with wrongly-signed votes and commits;
 *   and every GARBAGE_INTERVAL_MS, on every gossip topic, random bytes, a
 *   message one byte over the topic's limit (on proposals one round in ten:
 *   their limit is megabytes), a truncated copy of a message and a vote with
 *   a wrong signature. Its peers must penalize and ban it.
 * - `flood-votes`: every vote it gossips is followed by FLOOD_VOTES validly
 *   signed nil votes of rounds FLOOD_ROUND_OFFSET and more ahead (within the
 *   look-ahead window; not equivocation: rounds this height never reaches,
 *   and the same nil vote each time).
 *   Honest nodes must keep their work and memory bounded.
 *
 * The signer itself is untouched: what the node signs for its own consensus
 * is recorded in its signer state as usual; the extra messages are signed
 * here with the raw key and never pass the signer.
 */
import { randomBytes } from 'node:crypto';
import { sign } from '@synod/crypto';
import type { NodeTransport } from '@synod/node';
import {
  BLOCK_RANGE_REQUEST_BYTES,
  CONSENSUS_REQUEST_BYTES,
  type Network,
  protocolId,
  REQRESP_PROTOCOLS,
  type ReqRespProtocol,
  topicBytesMax,
} from '@synod/p2p';
import {
  blockHash,
  encodeSignedVote,
  LIMITS,
  type Logger,
  type Proposal,
  proposalSignBytes,
  type SignedVote,
  SynodError,
  type Vote,
  voteSignBytes,
} from '@synod/types';

export const BYZANTINE_MODES = ['equivocate', 'double-propose', 'silent', 'garbage', 'flood-votes'] as const;
export type ByzantineMode = (typeof BYZANTINE_MODES)[number];

/** Chain ids a Byzantine mode (or any other `--unsafe-…` test option) may run on. */
export const TEST_CHAIN_PREFIX = 'test-';
/** How often the `garbage` mode sends its batch. */
export const GARBAGE_INTERVAL_MS = 500;
/** Extra votes per own vote in `flood-votes`. */
export const FLOOD_VOTES = 20;
/** How many rounds ahead of its vote `flood-votes` floods. */
export const FLOOD_ROUND_OFFSET = 100;

/** Checks `mode` and that `chainId` is a test chain; returns the mode. */
export function checkByzantineMode(mode: string, chainId: string): ByzantineMode {
  if (!(BYZANTINE_MODES as readonly string[]).includes(mode))
    throw new SynodError(
      'CONFIG_INVALID',
      `--unsafe-byzantine ${JSON.stringify(mode)}: expected one of ${BYZANTINE_MODES.join(', ')}`,
    );
  checkTestChain(`--unsafe-byzantine ${mode}`, chainId);
  return mode as ByzantineMode;
}

/** Refuses a test-only option on a chain whose id does not start with `test-`. */
export function checkTestChain(option: string, chainId: string): void {
  if (!chainId.startsWith(TEST_CHAIN_PREFIX))
    throw new SynodError(
      'CONFIG_INVALID',
      `${option} is for test chains only: the chain id ${JSON.stringify(chainId)} does not start with ${JSON.stringify(TEST_CHAIN_PREFIX)}`,
    );
}

export interface ByzantineContext {
  readonly mode: ByzantineMode;
  readonly chainId: string;
  /** The validator key's 32-byte seed (signs the extra messages). */
  readonly keySeed: Uint8Array;
  readonly network: Network;
  readonly logger: Logger;
}

/** `inner` with the misbehaviour of `ctx.mode`; `stop` ends its timers. */
export function byzantineTransport(
  inner: NodeTransport,
  ctx: ByzantineContext,
): { transport: NodeTransport; stop: () => void } {
  const log = ctx.logger.child({ module: 'byzantine' });
  log.warn('running a Byzantine test mode: this node misbehaves on purpose', {
    event: 'byzantine_mode',
    mode: ctx.mode,
  });
  const signVote = (vote: Vote): SignedVote => ({
    vote,
    signature: sign(ctx.keySeed, voteSignBytes(ctx.chainId, vote)),
  });
  let counted = 0;
  const note = (what: string, fields: Record<string, unknown>): void => {
    // The first few of each run are logged (the chaos script checks the mode acted); then every 100th.
    counted += 1;
    if (counted <= 5 || counted % 100 === 0)
      log.info(what, { event: 'byzantine_action', mode: ctx.mode, count: counted, ...fields });
  };
  let lastVote: SignedVote | undefined;
  let stopGarbage = (): void => {};
  if (ctx.mode === 'garbage') stopGarbage = startGarbage(ctx, note, () => lastVote);
  const publish: NodeTransport['publish'] = async (topic, message) => {
    if (ctx.mode === 'silent' && (topic === 'votes' || topic === 'proposals')) return;
    await inner.publish(topic, message);
    if (topic === 'votes') {
      const sv = message as SignedVote;
      lastVote = sv;
      const v = sv.vote;
      if (ctx.mode === 'equivocate') {
        const other: Vote = {
          ...v,
          blockHash: v.blockHash === null ? Uint8Array.from(randomBytes(32)) : null,
        };
        await inner.publish('votes', signVote(other));
        note('equivocated', { height: v.height, round: v.round, type: v.type });
      } else if (ctx.mode === 'flood-votes') {
        // Rounds FLOOD_ROUND_OFFSET ahead: within the look-ahead window honest nodes accept, never
        // reached by this height's consensus, so they never conflict with a vote the node signs
        // (flooding the next rounds did: its own prevote of round r + 1 was then a double sign).
        const from = v.round + FLOOD_ROUND_OFFSET;
        for (let r = from; r < Math.min(from + FLOOD_VOTES, LIMITS.roundMax); r++)
          await inner.publish('votes', signVote({ ...v, round: r, blockHash: null }));
        note('flooded votes', { height: v.height, round: v.round, votes: FLOOD_VOTES });
      }
    } else if (topic === 'proposals' && ctx.mode === 'double-propose') {
      const m = message as Parameters<NodeTransport['publish']>[1] & {
        signedProposal: { proposal: Proposal };
        block: { header: { timeMs: number } };
      };
      const block = { ...m.block, header: { ...m.block.header, timeMs: m.block.header.timeMs + 1 } };
      const proposal: Proposal = {
        ...m.signedProposal.proposal,
        blockHash: blockHash(block as never),
        timestampMs: m.signedProposal.proposal.timestampMs + 1,
      };
      const signedProposal = {
        proposal,
        signature: sign(ctx.keySeed, proposalSignBytes(ctx.chainId, proposal)),
      };
      await inner.publish('proposals', { signedProposal, block } as never);
      note('double-proposed', { height: proposal.height, round: proposal.round });
    }
  };
  // `garbage` keeps the latest vote it received too (a non-validator has none of its own).
  const subscribe: NodeTransport['subscribe'] = (topic, handler) =>
    inner.subscribe(topic, (received) => {
      if (topic === 'votes') lastVote = received.message as SignedVote;
      return handler(received);
    });
  // `silent` answers the liveness protocol with nothing: peers pulled its votes through it.
  const serveSilently: NodeTransport['serve'] = (provider) =>
    inner.serve({
      status: (...a) => provider.status(...a),
      blockByHash: (...a) => provider.blockByHash(...a),
      blockRange: (...a) => provider.blockRange(...a),
      consensus: () => ({ proposals: [], votes: [] }),
    });
  // `garbage` answers requests with wrongly-signed votes (liveness protocol) and commits (block range).
  const serveGarbage: NodeTransport['serve'] = (provider) =>
    inner.serve({
      status: (...a) => provider.status(...a),
      blockByHash: (...a) => provider.blockByHash(...a),
      blockRange: async (...a) =>
        (await provider.blockRange(...a)).map((b) => ({
          ...b,
          commit: {
            ...b.commit,
            signatures: b.commit.signatures.map((c) => ({ ...c, signature: flipped(c.signature) })),
          },
        })),
      consensus: async (...a) => {
        const r = await provider.consensus(...a);
        return { ...r, votes: r.votes.map((v) => ({ ...v, signature: flipped(v.signature) })) };
      },
    });
  // Every other member of the port is the inner transport's, bound to it.
  const transport = new Proxy(inner, {
    get(target, key) {
      if (key === 'publish') return publish;
      if (key === 'subscribe' && ctx.mode === 'garbage') return subscribe;
      if (key === 'serve' && ctx.mode === 'silent') return serveSilently;
      if (key === 'serve' && ctx.mode === 'garbage') return serveGarbage;
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { transport, stop: () => stopGarbage() };
}

const GARBAGE_TOPICS = ['proposals', 'votes', 'evidence', 'txs'] as const;

/**
 * One round of `garbage` on every topic: random bytes, a message one byte
 * over the topic's limit (on proposals, whose limit follows the block size,
 * one round in ten: the sender must not spend its own CPU on megabytes every
 * round), and half of `last` (a message sent before) when there is one.
 */
export function garbageMessages(
  limits: Network['limits'],
  round: number,
  last: Uint8Array | undefined,
): { topic: (typeof GARBAGE_TOPICS)[number]; data: Uint8Array }[] {
  const out: { topic: (typeof GARBAGE_TOPICS)[number]; data: Uint8Array }[] = [];
  for (const topic of GARBAGE_TOPICS) {
    // Within the limit: the receiver must refuse it for what it is, not for its size.
    const size = 1 + Math.floor(Math.random() * Math.min(512, topicBytesMax(topic, limits)));
    out.push({ topic, data: Uint8Array.from(randomBytes(size)) });
    if (topic !== 'proposals' || round % 10 === 0)
      out.push({ topic, data: new Uint8Array(topicBytesMax(topic, limits) + 1).fill(0xab) });
    if (last !== undefined) out.push({ topic, data: last.subarray(0, Math.floor(last.length / 2)) });
  }
  return out;
}

/** `signature` with its first byte flipped (a wrong signature of the right length). */
function flipped(signature: Uint8Array): Uint8Array {
  const out = Uint8Array.from(signature);
  out[0] = (out[0] as number) ^ 0xff;
  return out;
}

/** One length-prefixed frame (unsigned varint length, as it-length-prefixed writes it). */
export function lpFrame(data: Uint8Array): Uint8Array {
  const prefix: number[] = [];
  let n = data.length;
  while (n >= 0x80) {
    prefix.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  prefix.push(n);
  const out = new Uint8Array(prefix.length + data.length);
  out.set(prefix, 0);
  out.set(data, prefix.length);
  return out;
}

/** The largest request of each Synod protocol (as @synod/p2p serves them). */
export const REQUEST_BYTES_MAX: Readonly<Record<ReqRespProtocol, number>> = {
  status: 0,
  'block-by-hash': 32,
  'block-range': BLOCK_RANGE_REQUEST_BYTES,
  pex: 0,
  consensus: CONSENSUS_REQUEST_BYTES,
};

/** One garbage request: the bytes written on a new stream of `protocol` (a full protocol id). */
export interface GarbageRequest {
  readonly protocol: string;
  /** The Synod protocol it is for, or undefined for one of libp2p's own. */
  readonly synod: ReqRespProtocol | undefined;
  readonly kind: 'malformed' | 'random' | 'oversize';
  readonly bytes: Uint8Array;
}

/**
 * The request garbage for one peer, in the order it is sent: random bytes
 * and an oversize frame on libp2p's identify and ping (no penalty: the
 * library drops the stream), a malformed request on each Synod protocol
 * (each a `bad-request` penalty: the five stay under the ban threshold, so
 * every protocol is seen), one request one byte over each Synod protocol's
 * limit (an `oversized-message` penalty: the first is the ban, named by its
 * protocol), then random bytes and an oversize frame on the other protocols
 * `registered` (gossipsub's streams; a correct peer has banned the sender by
 * then and refuses them).
 */
export function requestGarbage(chainId: string, registered: readonly string[]): GarbageRequest[] {
  const out: GarbageRequest[] = [];
  const others = registered.filter((p) => !p.startsWith('/synod/'));
  const libp2pFirst = others.filter((p) => p.startsWith('/ipfs/'));
  const libp2pLast = others.filter((p) => !p.startsWith('/ipfs/'));
  const raw = (protocol: string): void => {
    out.push({ protocol, synod: undefined, kind: 'random', bytes: Uint8Array.from(randomBytes(64)) });
    out.push({
      protocol,
      synod: undefined,
      kind: 'oversize',
      bytes: lpFrame(new Uint8Array(1 << 20).fill(0xcd)),
    });
  };
  for (const protocol of libp2pFirst) raw(protocol);
  for (const p of REQRESP_PROTOCOLS) {
    const protocol = protocolId(chainId, p);
    let bytes: Uint8Array;
    if (REQUEST_BYTES_MAX[p] === 0) {
      // Two (empty) request frames where exactly one is allowed.
      bytes = Uint8Array.of(0, 0);
    } else if (p === 'block-range') {
      // The right length, an impossible range (from 0).
      bytes = lpFrame(new Uint8Array(BLOCK_RANGE_REQUEST_BYTES));
    } else {
      // Within the size limit, the wrong length.
      bytes = lpFrame(Uint8Array.from(randomBytes(5)));
    }
    out.push({ protocol, synod: p, kind: 'malformed', bytes });
  }
  for (const p of REQRESP_PROTOCOLS)
    out.push({
      protocol: protocolId(chainId, p),
      synod: p,
      kind: 'oversize',
      bytes: lpFrame(new Uint8Array(REQUEST_BYTES_MAX[p] + 1).fill(0xab)),
    });
  for (const protocol of libp2pLast) raw(protocol);
  return out;
}

/** How long after the first peer got its request garbage the gossip garbage starts. */
const GOSSIP_GARBAGE_AFTER_MS = 3000;

/** How long one garbage request may take (open, write, read the answer to its end). */
const GARBAGE_REQUEST_MS = 5000;

/** The network's internals the garbage reaches below its encoders and checks: test-only access. */
interface RawGossip {
  need(): {
    router: { publish(topic: string, data: Uint8Array): Promise<unknown> };
    node: {
      getPeers(): { toString(): string }[];
      getProtocols(): string[];
      dialProtocol(
        peer: unknown,
        protocol: string,
        options: { signal: AbortSignal },
      ): Promise<{
        send(data: Uint8Array): boolean;
        close(options?: { signal?: AbortSignal }): Promise<void>;
        abort(err: Error): void;
        [Symbol.asyncIterator](): AsyncIterator<unknown>;
      }>;
    };
  };
  readonly topics: { readonly byTopic: Readonly<Record<string, string>> };
}

/** Sends one garbage request to `peer` and reads whatever comes back (the peer's answer or its hang-up). */
async function sendGarbageRequest(raw: RawGossip, peer: unknown, g: GarbageRequest): Promise<string> {
  const signal = AbortSignal.timeout(GARBAGE_REQUEST_MS);
  let stream: Awaited<ReturnType<ReturnType<RawGossip['need']>['node']['dialProtocol']>> | undefined;
  try {
    stream = await raw.need().node.dialProtocol(peer, g.protocol, { signal });
    stream.send(g.bytes);
    await stream.close({ signal });
    const it = stream[Symbol.asyncIterator]();
    for (;;) {
      const next = await Promise.race([
        it.next(),
        new Promise<never>((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('timed out')), { once: true }),
        ),
      ]);
      if (next.done === true) return 'answered';
    }
  } catch (err) {
    stream?.abort(err instanceof Error ? err : new Error(String(err)));
    return err instanceof Error ? err.name : 'failed';
  }
}

function startGarbage(
  ctx: ByzantineContext,
  note: (what: string, f: Record<string, unknown>) => void,
  lastVote: () => SignedVote | undefined,
): () => void {
  const raw = ctx.network as unknown as RawGossip;
  let last: Uint8Array | undefined;
  const send = async (topic: string, data: Uint8Array): Promise<void> => {
    try {
      await raw.need().router.publish(raw.topics.byTopic[topic] as string, data);
    } catch {
      // Not started yet, no peers, or refused by the library's own size check: next round.
    }
  };
  // Request garbage goes to each peer once per connection, before any gossip garbage: a peer that
  // bans the sender for its gossip first would never see the request protocols' garbage.
  const served = new Set<string>();
  let firstServedAt: number | undefined;
  const requests = async (): Promise<boolean> => {
    let node: ReturnType<RawGossip['need']>['node'];
    try {
      node = raw.need().node;
    } catch {
      return false;
    }
    const peers = node.getPeers();
    const connected = new Set(peers.map((p) => p.toString()));
    for (const key of served) if (!connected.has(key)) served.delete(key);
    // The peers in parallel; to each peer one request after the other (their order matters).
    await Promise.all(
      peers.map(async (peer) => {
        const key = peer.toString();
        if (served.has(key)) return;
        served.add(key);
        const outcomes: string[] = [];
        for (const g of requestGarbage(ctx.chainId, node.getProtocols()))
          outcomes.push(`${g.synod ?? g.protocol}:${g.kind}:${await sendGarbageRequest(raw, peer, g)}`);
        note('sent request garbage', { peer: key, requests: outcomes });
      }),
    );
    if (peers.length > 0 && firstServedAt === undefined) firstServedAt = Date.now();
    // The peers that connect at about the same time as the first one get theirs first too.
    return (
      firstServedAt !== undefined &&
      Date.now() - firstServedAt >= GOSSIP_GARBAGE_AFTER_MS &&
      peers.every((p) => served.has(p.toString()))
    );
  };
  let round = 0;
  const tick = async (): Promise<void> => {
    if (!(await requests())) return;
    round++;
    for (const m of garbageMessages(ctx.network.limits, round, last)) await send(m.topic, m.data);
    // The latest vote it sent or received with a wrong signature (one byte flipped): a current height.
    const sv = lastVote();
    if (sv !== undefined) {
      last = encodeSignedVote({ vote: sv.vote, signature: flipped(sv.signature) });
      await send('votes', last);
    }
    note('sent garbage', { topics: 4 });
  };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void tick().finally(() => {
      running = false;
    });
  }, GARBAGE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** The clock skew a test node may run with (`--unsafe-clock-skew-ms`): within the chain's drift bound. */
export function checkClockSkew(skewMs: number, chainId: string, maxTimeDriftMs: number): number {
  checkTestChain('--unsafe-clock-skew-ms', chainId);
  if (!Number.isSafeInteger(skewMs) || Math.abs(skewMs) >= maxTimeDriftMs)
    throw new SynodError(
      'CONFIG_INVALID',
      `--unsafe-clock-skew-ms ${skewMs}: expected an integer of magnitude below the chain's block.maxTimeDriftMs (${maxTimeDriftMs})`,
    );
  return skewMs;
}
