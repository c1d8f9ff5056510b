/**
 * One hostile peer against one node, while an honest validator peer votes
 * through it: the attacker (test/hostile: libp2p with no gossipsub router and
 * no Synod validation) runs every attack of `ATTACKS` in turn, each with
 * fresh identities, on every gossip topic, at the gossipsub wire level and on
 * every request/response protocol.
 *
 *     honest voter ──► victim ──► observer        attacker ──► victim
 *
 * The honest peer and the observer reach each other only through the
 * victim, so everything the observer receives was forwarded by it. Nothing
 * here asserts a timing: `pnpm --filter @synod/p2p hostile-peer` measures.
 */
import { blockHash } from '@synod/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetwork, type Network } from '../../src/index.js';
import {
  chainProvider,
  makeChain,
  makeValidators,
  RecordingMetrics,
  testNodeOptions,
  waitFor,
} from '../fixtures.js';
import { epochMs, type IdentityReport } from '../hostile/attacker.js';
import { ATTACKS, type Attack } from '../hostile/attacks.js';
import { Deliveries, HonestVoter } from '../hostile/honest.js';
import { Payloads } from '../hostile/payloads.js';
import { PeerLedger } from '../hostile/probe.js';

const vals = makeValidators(4);
const chain = makeChain(vals, 20, 1);
/** How long each attack runs here (the script runs them longer). */
const ATTACK_MS = 2_000;
/** Enough of the cheapest punishable message (a bad request, 5 points) to cross the ban threshold (35). */
const BAN_AFTER_MESSAGES = 8;

/** Holds the in-process attacker to a rate, so the victim (same event loop) has room to work. */
function pacer(messagesPerSecond: number, bytesPerSecond: number): (m: number, b: number) => Promise<void> {
  const start = performance.now();
  let messages = 0;
  let bytes = 0;
  return async (m, b) => {
    messages += m;
    bytes += b;
    const dueMs = start + Math.max(messages / messagesPerSecond, bytes / bytesPerSecond) * 1000;
    const wait = dueMs - performance.now();
    await new Promise((r) => (wait > 1 ? setTimeout(r, wait) : setImmediate(r)));
  };
}

interface Outcome {
  readonly attack: Attack;
  /** The loopback address the attack came from. */
  readonly sourceIp: string;
  readonly identities: readonly IdentityReport[];
  readonly fromMs: number;
  readonly toMs: number;
}

describe('a hostile peer attacks a node on every topic and protocol while an honest peer votes', () => {
  const victimMetrics = new RecordingMetrics();
  const observerMetrics = new RecordingMetrics();
  const ledger = new PeerLedger();
  const atVictim = new Deliveries();
  const atObserver = new Deliveries();
  let observerOtherTopics = 0;
  let victim: Network | undefined;
  let honest: Network | undefined;
  let observer: Network | undefined;
  let voter: HonestVoter | undefined;
  const outcomes: Outcome[] = [];

  beforeAll(async () => {
    victim = await createNetwork(
      testNodeOptions(300, vals, { metrics: victimMetrics, logger: ledger, provider: chainProvider(chain) }),
    );
    await victim.start();
    const victimAddress = victim.addresses()[0] ?? '';
    // the honest peer and the observer may dial the victim only (peer exchange would introduce them)
    const onlyVictim = (address: string): boolean =>
      victimAddress.startsWith(address.split('/p2p/')[0] ?? '-');
    honest = await createNetwork(testNodeOptions(301, vals, { dialFilter: onlyVictim }));
    observer = await createNetwork(
      testNodeOptions(302, vals, { dialFilter: onlyVictim, metrics: observerMetrics }),
    );
    await honest.start();
    await observer.start();
    victim.onVote(({ message }) => atVictim.record(message));
    observer.onVote(({ message }) => atObserver.record(message));
    const other = (): void => {
      observerOtherTopics++;
    };
    observer.onProposal(other);
    observer.onEvidence(other);
    observer.onTx(other);
    await honest.dial(victimAddress);
    await observer.dial(victimAddress);
    const [h, o, v] = [honest, observer, victim];
    await waitFor(
      () => h.meshPeers('votes').includes(v.peerId) && v.meshPeers('votes').includes(o.peerId),
      'honest → victim → observer vote mesh',
    );
    voter = new HonestVoter(honest, vals, 20);
    voter.start();
  });

  afterAll(async () => {
    voter?.stop();
    await Promise.all([victim?.stop(), honest?.stop(), observer?.stop()]);
  });

  it('runs every attack; each identity of a punishable attack is banned and cut off', async () => {
    const v = victim;
    if (v === undefined) throw new Error('setup');
    const payloads = new Payloads(vals);
    const stored = chain[4];
    if (stored === undefined) throw new Error('fixture');
    const storedBlockHash = blockHash(stored.block);
    let firstIdentity = 0;
    for (const [i, attack] of ATTACKS.entries()) {
      // each attack from a host of its own (five banned identities ban their IP)
      const sourceIp = `127.0.0.${10 + i}`;
      const fromMs = epochMs();
      const { identities } = await attack.run({
        victimAddress: v.addresses()[0] ?? '',
        payloads,
        // a connect flood needs no time to show (and would only slow the test)
        untilMs: fromMs + (attack.name === 'connect-flood' ? 500 : ATTACK_MS),
        storedBlockHash,
        firstIdentity,
        sourceIp,
        pace: pacer(3_000, 8 * 1024 * 1024),
      });
      firstIdentity += attack.identities;
      outcomes.push({ attack, sourceIp, identities, fromMs, toMs: epochMs() });
    }
    for (const { attack, sourceIp, identities } of outcomes) {
      const active = identities.filter((r) => r.sent > 0);
      expect(active.length, `${attack.name}: an identity got to attack`).toBeGreaterThan(0);
      if (!attack.bans) continue;
      // An identity that got fewer than BAN_AFTER_MESSAGES messages out before its attack ended (a
      // loaded machine) may not have earned its ban yet; every identity that sent enough is banned,
      // and the victim may still be working through the last messages when the attacks end.
      await waitFor(() => active.some((r) => v.isBanned(r.id)), `${attack.name}: an identity banned`, 15_000);
      for (const r of active.filter((r) => r.sent >= BAN_AFTER_MESSAGES)) {
        await waitFor(() => v.isBanned(r.id), `${attack.name}: ${r.id} banned`, 15_000);
        await waitFor(() => !v.connectedPeers().includes(r.id), `${attack.name}: ${r.id} cut off`, 15_000);
      }
      // five banned identities from one host: the host's IP is refused from then on
      const banned = active.filter((r) => v.isBanned(r.id)).length;
      expect(
        v.bannedIps().some((b) => b.ip === sourceIp),
        `${attack.name}: ${sourceIp} banned`,
      ).toBe(banned >= 5);
    }
  });

  it('validates nothing an identity sent after its ban', () => {
    for (const { attack, identities } of outcomes) {
      for (const r of identities) {
        const record = ledger.peers.get(r.id);
        expect(record?.validatedAfterBan ?? 0, `${attack.name}: ${r.id}`).toBe(0);
      }
    }
  });

  it('never crashed, never forwarded anything invalid, and the honest votes kept arriving', async () => {
    const [v, h, o, vt] = [victim, honest, observer, voter];
    if (v === undefined || h === undefined || o === undefined || vt === undefined) throw new Error('setup');
    vt.stop();
    const first = outcomes[0]?.fromMs ?? 0;
    const last = outcomes.at(-1)?.toMs ?? 0;
    const during = vt.publishedBetween(first, last);
    expect(during.length).toBeGreaterThan(100);
    // eventually delivered (a vote dropped by a full queue never is)
    const all = [...vt.published.keys()];
    await waitFor(
      () => all.every((s) => atVictim.delayMs.has(s) && atObserver.delayMs.has(s)),
      'every honest vote reaches the victim and the observer',
      10_000,
    ).catch(() => {});
    const share = (d: Deliveries): number => during.filter((s) => d.delayMs.has(s)).length / during.length;
    expect(share(atVictim)).toBeGreaterThanOrEqual(0.9);
    expect(share(atObserver)).toBeGreaterThanOrEqual(0.9);

    // alive and still connected to the honest peers; no internal error
    expect(v.isStarted).toBe(true);
    expect(v.connectedPeers()).toEqual(expect.arrayContaining([h.peerId, o.peerId]));
    expect(ledger.errors).toEqual([]);
    expect(v.isBanned(h.peerId) || v.isBanned(o.peerId)).toBe(false);

    // nothing invalid went downstream: the observer rejected nothing, penalised nobody,
    // and got only the honest votes
    expect(observerMetrics.total('synod_p2p_gossip_messages_total', { action: 'reject' })).toBe(0);
    expect(observerMetrics.total('synod_p2p_peer_penalties_total')).toBe(0);
    expect(o.penaltyPoints(v.peerId)).toBe(0);
    expect(atObserver.foreign).toBe(0);
    expect(observerOtherTopics).toBe(0);
    // the victim delivered no attacker message to its own handlers either
    expect(atVictim.foreign).toBe(0);
    // connections refused by IP (the connect flood's, banned hosts' new identities) were
    // turned away as the listener accepted them
    expect(victimMetrics.total('synod_p2p_inbound_refused_total', { stage: 'accept' })).toBeGreaterThan(0);
    // and it did reject (the attacks reached validation)
    expect(victimMetrics.total('synod_p2p_gossip_messages_total', { action: 'reject' })).toBeGreaterThan(0);
  });
});
