/**
 * The attacks of one hostile peer, each run by fresh identities (a ban must
 * bound each one): when the victim cuts an identity, the next one connects
 * and carries on, until the attack's time is up or its identities are spent.
 */
import { connect as tcpConnect } from 'node:net';
import { multiaddr } from '@multiformats/multiaddr';
import { encodeConsensusRequest } from '../../src/codec/consensus-messages.js';
import { protocolId, type ReqRespProtocol } from '../../src/topics.js';
import { ATTACKER_IP, Attacker, epochMs, type IdentityReport } from './attacker.js';
import { OVERSIZE_BYTES, type Payloads } from './payloads.js';
import { frame, malformedRpcFrame, oversizeFramePrefix, type RawMessage, rpcBytes } from './wire.js';

export interface AttackContext {
  /** The victim's address, ending in /p2p/<peer id>. */
  readonly victimAddress: string;
  readonly payloads: Payloads;
  /** When the attack stops (epochMs). */
  readonly untilMs: number;
  /** The hash of a block the victim stores (for block-by-hash floods). */
  readonly storedBlockHash: Uint8Array;
  /** Identity numbers are taken from here on (distinct across attacks). */
  readonly firstIdentity: number;
  /** The IP the attacker dials from (a loopback address other than 127.0.0.1). @default ATTACKER_IP */
  readonly sourceIp?: string;
  /**
   * Most identities to use. @default the attack's `identities`; a real
   * attacker has as many as it likes (a new one each time one is banned).
   */
  readonly identities?: number;
  /**
   * Called after each write with what was sent: yields to the event loop and
   * may hold the attacker to a rate (an in-process test must leave the
   * victim room). A real attacker calls it with no limit.
   */
  pace(messages: number, bytes: number): Promise<void>;
}

export interface AttackResult {
  readonly identities: readonly IdentityReport[];
}

export interface Attack {
  readonly name: string;
  /** One line: what is sent and what the victim should do. */
  readonly what: string;
  /** Identities used by default (see `AttackContext.identities`). */
  readonly identities: number;
  /** True when the victim must ban every identity that attacked (false: ignored, never checked, unpunished). */
  readonly bans: boolean;
  run(ctx: AttackContext): Promise<AttackResult>;
}

const TOPICS = ['votes', 'proposals', 'evidence', 'txs'] as const;

const idle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One identity's turn: its attacker (connected) and when its turn ends. */
interface Turn {
  readonly a: Attacker;
  /** Its number among the attack's identities (from 0). */
  readonly n: number;
  readonly untilMs: number;
}

/**
 * Gives one identity after another a turn, while time is left and up to the
 * attack's identities (`ctx.identities` overrides): each connects (with a
 * gossipsub stream subscribed to every topic when `gossip`) and runs `turn`
 * until the victim cuts it or its turn is over (`perIdentityMs`, else the
 * attack's end). When the victim is expected to ban it, a last wait of up to
 * `graceMs` lets a ban that lands after the last write show. Each identity is
 * stopped when its turn ends.
 */
async function identityTurns(
  ctx: AttackContext,
  attack: Pick<Attack, 'identities' | 'bans'>,
  options: { readonly gossip: boolean; readonly perIdentityMs?: number; readonly graceMs?: number },
  turn: (t: Turn) => Promise<void>,
): Promise<AttackResult> {
  const reports: IdentityReport[] = [];
  const max = ctx.identities ?? attack.identities;
  for (let n = 0; n < max && epochMs() < ctx.untilMs; n++) {
    const a = await Attacker.create(ctx.firstIdentity + n, ctx.sourceIp);
    reports.push(a.report);
    try {
      await a.connect(ctx.victimAddress);
      if (options.gossip && !(await a.openGossip(TOPICS.map((t) => ctx.payloads.topic(t))))) continue;
      const untilMs = Math.min(ctx.untilMs, epochMs() + (options.perIdentityMs ?? Number.POSITIVE_INFINITY));
      await turn({ a, n, untilMs });
      if (attack.bans) {
        const graceUntil = epochMs() + (options.graceMs ?? 1_500);
        while (a.connected() && epochMs() < graceUntil) await idle(20);
      }
    } catch {
      // refused or cut: the next identity
    } finally {
      await a.stop().catch(() => {});
    }
  }
  return { identities: reports };
}

/** Calls `step` until the identity is cut, `step` returns false, or its turn is over. */
async function repeat(t: Turn, step: () => Promise<boolean>): Promise<void> {
  while (epochMs() < t.untilMs && t.a.connected()) {
    if (!(await step())) return;
  }
}

/** Floods with `step` through gossip, one identity after another. */
function gossipFlood(
  ctx: AttackContext,
  attack: Pick<Attack, 'identities' | 'bans'>,
  step: (a: Attacker) => Promise<boolean>,
) {
  return identityTurns(ctx, attack, { gossip: true }, (t) => repeat(t, () => step(t.a)));
}

/** One RPC frame of `messages`, written and paced. */
async function send(ctx: AttackContext, a: Attacker, messages: RawMessage[]): Promise<boolean> {
  const bytes = frame(rpcBytes(messages));
  const ok = await a.writeGossip(bytes, messages.length);
  await ctx.pace(messages.length, bytes.length);
  return ok;
}

/** `count` messages of `topic` made by `make`. */
function batch(ctx: AttackContext, topic: (typeof TOPICS)[number], count: number, make: () => Uint8Array) {
  const name = ctx.payloads.topic(topic);
  return Array.from({ length: count }, () => ({ topic: name, data: make() }));
}

const garbage: Attack = {
  name: 'garbage',
  what: 'random bytes on every topic (REJECT DECODE_FAILED)',
  identities: 3,
  bans: true,
  run: (ctx) =>
    gossipFlood(ctx, garbage, (a) => {
      const p = ctx.payloads;
      return send(ctx, a, [
        ...batch(ctx, 'votes', 4, () => p.garbage(100)),
        ...batch(ctx, 'proposals', 2, () => p.garbage(3_000)),
        ...batch(ctx, 'evidence', 2, () => p.garbage(250)),
        ...batch(ctx, 'txs', 2, () => p.garbage(400)),
      ]);
    }),
};

const oversize: Attack = {
  name: 'oversize',
  what: 'messages over the topic bound on every topic, up to 4 MiB (REJECT MESSAGE_TOO_LARGE)',
  identities: 3,
  bans: true,
  run: (ctx) => {
    let k = 0;
    return gossipFlood(ctx, oversize, (a) => {
      const topic = TOPICS[k++ % TOPICS.length] ?? 'votes';
      return send(
        ctx,
        a,
        batch(ctx, topic, 1, () => ctx.payloads.garbage(OVERSIZE_BYTES[topic])),
      );
    });
  },
};

const corrupt: Attack = {
  name: 'corrupt',
  what: 'decodable but invalid on every topic: non-validator votes and proposals, no-conflict evidence, txs of another chain (REJECT)',
  identities: 3,
  bans: true,
  run: (ctx) =>
    gossipFlood(ctx, corrupt, (a) => {
      const p = ctx.payloads;
      return send(ctx, a, [
        ...batch(ctx, 'votes', 4, () => p.outsiderVote()),
        ...batch(ctx, 'proposals', 1, () => p.outsiderProposal()),
        ...batch(ctx, 'evidence', 2, () => p.malformedEvidence()),
        ...batch(ctx, 'txs', 2, () => p.foreignTx()),
      ]);
    }),
};

const forged: Attack = {
  name: 'forged',
  what: 'forged signatures (real R, canonical S) on every topic, mostly votes (REJECT INVALID_SIGNATURE)',
  identities: 5,
  bans: true,
  run: (ctx) =>
    gossipFlood(ctx, forged, (a) => {
      const p = ctx.payloads;
      return send(ctx, a, [
        ...batch(ctx, 'votes', 40, () => p.forgedVote(1, p.next() % 10_000)),
        ...batch(ctx, 'proposals', 1, () => p.forgedProposal()),
        ...batch(ctx, 'evidence', 2, () => p.forgedEvidence()),
        ...batch(ctx, 'txs', 2, () => p.forgedTx()),
      ]);
    }),
};

const forgedTorsion: Attack = {
  name: 'forged-torsion',
  what: 'forged votes and evidence whose R has a torsion component (the ZIP-215 slow path)',
  identities: 5,
  bans: true,
  run: (ctx) =>
    gossipFlood(ctx, forgedTorsion, (a) => {
      const p = ctx.payloads;
      return send(ctx, a, [
        ...batch(ctx, 'votes', 40, () => p.forgedVote(1, p.next() % 10_000, 'torsion')),
        ...batch(ctx, 'evidence', 2, () => p.forgedEvidence('torsion')),
      ]);
    }),
};

const farRounds: Attack = {
  name: 'far-rounds',
  what: 'votes for rounds beyond the look-ahead and heights beyond the window (IGNORE, never checked)',
  identities: 1,
  bans: false,
  run: (ctx) =>
    gossipFlood(ctx, farRounds, (a) =>
      send(
        ctx,
        a,
        batch(ctx, 'votes', 50, () => ctx.payloads.farVote()),
      ),
    ),
};

const hugeProposals: Attack = {
  name: 'huge-proposals',
  what: 'proposals of 100,000 empty txs (~400 KB) under the round proposer’s name, forged (REJECT INVALID_SIGNATURE)',
  identities: 5,
  bans: true,
  run: (ctx) =>
    gossipFlood(ctx, hugeProposals, (a) =>
      send(
        ctx,
        a,
        batch(ctx, 'proposals', 1, () => ctx.payloads.hugeProposal(1)),
      ),
    ),
};

const hugeProposalsFar: Attack = {
  name: 'huge-proposals-far',
  what: 'the same huge proposals for a far height (IGNORE HEIGHT_TOO_FAR, never checked)',
  identities: 1,
  bans: false,
  run: (ctx) =>
    gossipFlood(ctx, hugeProposalsFar, (a) =>
      send(
        ctx,
        a,
        batch(ctx, 'proposals', 1, () => ctx.payloads.hugeProposal(1_000 + ctx.payloads.next())),
      ),
    ),
};

/**
 * Gossipsub-level garbage, one kind per identity (in turn), each dropped by
 * gossipsub before Synod's validation: copies of an invalid message, messages
 * with the fields StrictNoSign forbids, messages on topics that are not ours,
 * undecodable RPC frames, frames over the inbound limit.
 */
const gossipsubGarbage: Attack = {
  name: 'gossipsub-garbage',
  what: 'invalid duplicates, forbidden from/seqno/signature/key, unknown topics, malformed and oversize RPC frames',
  identities: 5,
  bans: true,
  run: (ctx) => {
    const p = ctx.payloads;
    const votes = p.topic('votes');
    const kinds: ((a: Attacker, invalid: Uint8Array, i: number) => Promise<boolean>)[] = [
      // the same invalid vote again and again (the first is rejected, the rest are copies)
      (a, invalid) => send(ctx, a, [{ topic: votes, data: invalid }]),
      // a forged vote carrying the fields a StrictNoSign network forbids
      (a, _, i) =>
        send(ctx, a, [
          {
            topic: votes,
            data: p.forgedVote(),
            from: a.node.peerId.toMultihash().bytes,
            seqno: new Uint8Array(8).fill(i & 0xff),
            signature: p.forgedSignature(),
            key: a.node.peerId.publicKey?.raw ?? new Uint8Array(32),
          },
        ]),
      // messages on topics of another chain
      (a) =>
        send(ctx, a, [
          { topic: '/synod/other-chain/votes/1', data: p.forgedVote() },
          { topic: `/garbage/${p.next()}`, data: p.garbage(64) },
        ]),
      // RPC frames that do not decode
      async (a, _, i) => {
        const ok = await a.writeGossip(malformedRpcFrame(i), 1);
        await ctx.pace(1, 3);
        return ok;
      },
      // a frame announcing 64 MiB, on a new stream each time (the victim cuts the stream)
      async (a) => {
        const ok = await a.writeGossip(oversizeFramePrefix(), 1, true);
        await ctx.pace(1, 8);
        await idle(50);
        return ok || a.connected();
      },
    ];
    // each kind gets an equal share of the time on its first round
    const perIdentityMs = (ctx.untilMs - epochMs()) / kinds.length;
    return identityTurns(ctx, gossipsubGarbage, { gossip: true, perIdentityMs, graceMs: 1_000 }, (t) => {
      const kind = kinds[t.n % kinds.length];
      const invalid = p.garbage(100);
      let i = 0;
      return repeat(t, () => kind?.(t.a, invalid, i++) ?? Promise.resolve(false));
    });
  },
};

/** Requests on every protocol, each identity one flavour (in turn): malformed, oversize, a flood over the rate limits. */
const requests: Attack = {
  name: 'requests',
  what: 'malformed, oversize and flooding requests on status, block-by-hash, block-range, pex, consensus; idle streams',
  identities: 3,
  bans: true,
  run: (ctx) => {
    const id = (p: ReqRespProtocol): string => protocolId(ctx.payloads.chainId, p);
    const range = (from: number, to: number): Uint8Array => {
      const b = new Uint8Array(16);
      const v = new DataView(b.buffer);
      v.setBigUint64(0, BigInt(from), false);
      v.setBigUint64(8, BigInt(to), false);
      return b;
    };
    // the newest protocol first in each list (an identity is often banned before its list ends);
    // a malformed request costs 5 points, the over-long status frame 20 (the ban is at 35)
    const malformed: [ReqRespProtocol, Uint8Array][] = [
      // a consensus request one byte short, and one for height 0
      ['consensus', frame(new Uint8Array(11))],
      ['consensus', frame(new Uint8Array(12))],
      ['status', new Uint8Array(11).fill(0xff)],
      ['block-by-hash', frame(new Uint8Array(31))],
      ['block-range', frame(new Uint8Array(3))],
      ['block-range', frame(range(50, 10))],
      ['block-by-hash', new Uint8Array([...frame(new Uint8Array(32)), ...frame(new Uint8Array(32))])],
    ];
    const oversizeRequests: [ReqRespProtocol, Uint8Array][] = [
      ['consensus', frame(new Uint8Array(64 * 1024))],
      ['status', frame(new Uint8Array(1))],
      ['pex', frame(new Uint8Array(64))],
      ['block-by-hash', frame(new Uint8Array(1024 * 1024))],
      ['block-range', frame(new Uint8Array(64 * 1024))],
    ];
    const flood: [ReqRespProtocol, Uint8Array][] = [
      // a decided height of the victim's chain: served with its block and commit
      ['consensus', frame(encodeConsensusRequest({ height: 5, round: 0 }))],
      ['block-range', frame(range(1, 100))],
      ['block-by-hash', frame(ctx.storedBlockHash)],
      ['status', frame(new Uint8Array(0))],
      ['pex', frame(new Uint8Array(0))],
    ];
    const flavours = [malformed, oversizeRequests, flood];
    const perIdentityMs = (ctx.untilMs - epochMs()) / flavours.length;
    return identityTurns(ctx, requests, { gossip: false, perIdentityMs, graceMs: 1_000 }, async (t) => {
      const flavour = t.n % flavours.length;
      const list = flavours[flavour] ?? flood;
      const isFlood = list === flood;
      const idleStreams: Promise<unknown>[] = [];
      if (isFlood) {
        // streams opened and never written to (held until the victim's read timeout)
        for (let i = 0; i < 12; i++)
          idleStreams.push(
            t.a.request(id('block-range'), new Uint8Array(0), { keepOpen: true, timeoutMs: 8_000 }),
          );
      }
      let k = 0;
      await repeat(t, async () => {
        // a flood does not wait for each answer: eight requests in flight (two for the others)
        const inFlight = isFlood ? 8 : 2;
        const batch = Array.from(
          { length: inFlight },
          (): [ReqRespProtocol, Uint8Array] => list[k++ % list.length] ?? ['status', new Uint8Array(0)],
        );
        await Promise.all(
          batch.map(([protocol, payload]) => t.a.request(id(protocol), payload, { timeoutMs: 2_000 })),
        );
        await ctx.pace(
          inFlight,
          batch.reduce((n, [, payload]) => n + payload.length, 0),
        );
        return true;
      });
      await Promise.race([Promise.all(idleStreams), idle(100)]);
    });
  },
};

/**
 * TCP connections from one IP that never start a handshake, four at a time,
 * each closed by the attacker after 50 ms unless the victim cut it first: a
 * host flooding connects (no identity, nothing to ban). The victim admits its
 * IP's burst, then refuses the rest by IP before any handshake. Reported as
 * one pseudo-identity `tcp` (`sent`: connections opened).
 */
const connectFlood: Attack = {
  name: 'connect-flood',
  what: 'TCP connections from one IP that never start a handshake (refused by IP, before the handshake)',
  identities: 1,
  bans: false,
  run: async (ctx) => {
    const parts = multiaddr(ctx.victimAddress).getComponents();
    const host = parts.find((c) => c.name === 'ip4')?.value ?? '127.0.0.1';
    const port = Number(parts.find((c) => c.name === 'tcp')?.value ?? 0);
    const report: IdentityReport = {
      id: 'tcp',
      firstSentAtMs: undefined,
      sent: 0,
      bytes: 0,
      cutAtMs: undefined,
      refused: false,
    };
    const one = (): Promise<void> =>
      new Promise((resolve) => {
        report.firstSentAtMs ??= epochMs();
        report.sent++;
        const socket = tcpConnect({ host, port, localAddress: ctx.sourceIp ?? ATTACKER_IP });
        const timer = setTimeout(() => socket.destroy(), 50);
        socket.on('error', () => {});
        socket.on('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    const loop = async (): Promise<void> => {
      while (epochMs() < ctx.untilMs) {
        await one();
        await ctx.pace(1, 0);
      }
    };
    await Promise.all([loop(), loop(), loop(), loop()]);
    return { identities: [report] };
  },
};

/** Every attack, in the order the test and the script run them. */
export const ATTACKS: readonly Attack[] = [
  garbage,
  oversize,
  corrupt,
  forged,
  forgedTorsion,
  farRounds,
  hugeProposals,
  hugeProposalsFar,
  gossipsubGarbage,
  requests,
  connectFlood,
];
