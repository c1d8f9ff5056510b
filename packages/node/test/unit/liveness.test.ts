/**
 * The liveness loop: a node recovers what gossip lost by asking a peer
 * (the `consensus` protocol) — a decided height's commit when it is one
 * height behind, block sync when it is further behind.
 */
import { blockHash, type Logger, type SignedVote } from '@synod/types';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryNetwork, type SynodNode } from '../../src/index.js';
import { heightReached, recordingLogger, testGenesis, validatorNode } from '../fixtures.js';

const running: SynodNode[] = [];
afterEach(async () => {
  for (const n of running.splice(0)) await n.stop();
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Heights of a message on a topic (votes and proposals carry one). */
function heightOf(topic: string, message: unknown): number | undefined {
  if (topic === 'votes') return (message as SignedVote).vote.height;
  if (topic === 'proposals')
    return (message as { signedProposal: { proposal: { height: number } } }).signedProposal.proposal.height;
  return undefined;
}

async function fourValidators(network: MemoryNetwork, livenessIntervalMs: number, v3Logger?: Logger) {
  const genesis = testGenesis(4, { proposeMs: 200, prevoteMs: 100, precommitMs: 100 });
  const nodes = [];
  for (let i = 0; i < 4; i++) {
    const { node, storage } = await validatorNode(
      network,
      i,
      genesis,
      undefined,
      { livenessIntervalMs },
      i === 3 ? v3Logger : undefined,
    );
    nodes.push({ node, storage });
  }
  for (const { node } of nodes) {
    running.push(node);
    await node.start();
  }
  return nodes;
}

async function sameBlocks(
  nodes: { storage: { blocks: { loadBlock(h: number): Promise<unknown> } } }[],
  upTo: number,
) {
  for (let h = 1; h <= upTo; h++) {
    const hashes = new Set<string>();
    for (const { storage } of nodes) {
      const block = (await storage.blocks.loadBlock(h)) as Parameters<typeof blockHash>[0] | undefined;
      expect(block, `block ${h}`).toBeDefined();
      hashes.add(hex(blockHash(block as Parameters<typeof blockHash>[0])));
    }
    expect(hashes.size, `height ${h}`).toBe(1);
  }
}

/**
 * `network`, with the requests `id` makes (status, consensus, block range)
 * going through `route(peer, send)`: a test decides whether each one is
 * sent, held or hangs.
 */
function routedRequests(
  network: MemoryNetwork,
  id: string,
  route: (peer: string, send: () => unknown) => unknown,
): MemoryNetwork {
  const requests = new Set(['requestStatus', 'requestConsensus', 'requestBlockRange']);
  return {
    transport(of: string) {
      const inner = network.transport(of);
      if (of !== id) return inner;
      return new Proxy(inner, {
        get(target, key) {
          const v: unknown = Reflect.get(target, key, target);
          if (typeof v !== 'function') return v;
          const f = (v as (...a: unknown[]) => unknown).bind(target);
          if (typeof key !== 'string' || !requests.has(key)) return f;
          return (peer: string, ...rest: unknown[]) => route(peer, () => f(peer, ...rest));
        },
      });
    },
  } as unknown as MemoryNetwork;
}

describe('node: liveness protocol', () => {
  it('a node that lost the precommits of a height decides it from a peer’s commit, and the chain goes on with it', async () => {
    // From height 3 on, v2 is silent and v3 never hears a precommit of height 3: v0 and v1 decide 3
    // (v0, v1, v3 precommit), then need v3 for height 4 — which only the liveness protocol can give it.
    const network = new MemoryNetwork({
      drop: (from, to, topic, message) => {
        const h = heightOf(topic, message);
        if (h === undefined || h < 3) return false;
        if (from === 'v2') return true;
        return to === 'v3' && h === 3 && (message as SignedVote).vote?.type === 'precommit';
      },
    });
    const nodes = await fourValidators(network, 100);
    const [v0, , , v3] = nodes.map((n) => n.node) as [SynodNode, SynodNode, SynodNode, SynodNode];
    await Promise.all([heightReached(v0, 6), heightReached(v3, 6)]);
    await sameBlocks([nodes[0]!, nodes[1]!, nodes[3]!], 6);
  }, 30_000);

  it('a node a few heights behind catches up through its running engine, without stopping it for block sync', async () => {
    // v3 hears nothing of heights 4–6 (the others decide them), and from height 7 on v2 is silent:
    // the chain waits at 7 for v3, three heights behind. Block sync would stop v3's engine and start
    // a new one after the sync, behind again on a chain faster than a tick; pulling the decided
    // heights keeps the engine, and its buffered messages, running.
    const network = new MemoryNetwork({
      drop: (from, to, topic, message) => {
        const h = heightOf(topic, message);
        if (h === undefined) return false;
        if (to === 'v3' && h >= 4 && h <= 6) return true;
        return from === 'v2' && h >= 7;
      },
    });
    const log = recordingLogger();
    const nodes = await fourValidators(network, 100, log);
    const [v0, , , v3] = nodes.map((n) => n.node) as [SynodNode, SynodNode, SynodNode, SynodNode];
    await Promise.all([heightReached(v0, 10), heightReached(v3, 10)]);
    await sameBlocks([nodes[0]!, nodes[1]!, nodes[3]!], 10);
    // (A sync at start, behind peers that started first, is not this.)
    const syncs = log.lines.filter((l) => l.msg === 'block sync' && Number(l.ctx.height) >= 3);

    expect(syncs).toEqual([]);
  }, 30_000);

  it('a node cut off while the others go on catches up by block sync, then takes part in consensus again', async () => {
    const network = new MemoryNetwork();
    const log = recordingLogger();
    const nodes = await fourValidators(network, 100, log);
    const [v0, , , v3] = nodes.map((n) => n.node) as [SynodNode, SynodNode, SynodNode, SynodNode];
    await heightReached(v0, 2);
    network.setConnected('v3', false);
    const cut = v3.status().height;
    await heightReached(v0, cut + 6);
    network.setConnected('v3', true);
    const target = v0.status().height;
    await heightReached(v3, target);
    // Now v2 goes silent: the chain needs v3 to decide.
    network.setConnected('v2', false);
    const now = v0.status().height;
    await Promise.all([heightReached(v0, now + 3), heightReached(v3, now + 3)]);
    await sameBlocks([nodes[0]!, nodes[1]!, nodes[3]!], now + 3);
    // The operator saw it: a stall suspected while cut off, healed after.
    const events = log.lines.map((l) => l.ctx.event).filter((e) => e !== undefined);
    expect(events).toContain('partition_suspected');
    expect(events.indexOf('partition_healed')).toBeGreaterThan(events.indexOf('partition_suspected'));
  }, 30_000);
});

describe('node: stall detection while peers do not answer', () => {
  it('a node cut off by a partition that leaves its connections open suspects it after livenessSyncTicks, not after request timeouts', async () => {
    // A partition by a firewall: the peers stay in the list (their connections are not closed yet)
    // and every request to them hangs until its timeout. The stall is counted in ticks of time,
    // so it is reported after livenessSyncTicks × livenessIntervalMs even while a pull hangs.
    let cut = false;
    const network = new MemoryNetwork({
      drop: (from, to) => cut && (from === 'v3' || to === 'v3'),
    });
    const hang = <T>(): Promise<T> =>
      new Promise((_, reject) => setTimeout(() => reject(new Error('request timed out')), 8000));
    const cutOff = routedRequests(network, 'v3', (_peer, send) => (cut ? hang() : send()));
    const log = recordingLogger();
    const genesis = testGenesis(4, { proposeMs: 200, prevoteMs: 100, precommitMs: 100 });
    const nodes = [];
    for (let i = 0; i < 4; i++) {
      const { node } = await validatorNode(
        cutOff,
        i,
        genesis,
        undefined,
        { livenessIntervalMs: 100 },
        i === 3 ? log : undefined,
      );
      nodes.push(node);
    }
    for (const node of nodes) {
      running.push(node);
      await node.start();
    }
    const [v0, , , v3] = nodes as [SynodNode, SynodNode, SynodNode, SynodNode];
    await heightReached(v0, 2);
    await heightReached(v3, 2);
    cut = true;
    const cutAt = Date.now();
    await heightReached(v0, v3.status().height + 3);
    const suspected = (): boolean => log.lines.some((l) => l.ctx.event === 'partition_suspected');
    // Generous for a loaded machine, and still well under one request timeout (8 s).
    while (!suspected() && Date.now() - cutAt < 6000) await new Promise((r) => setTimeout(r, 50));
    expect(suspected(), 'partition_suspected within 6 s of the cut').toBe(true);
    cut = false;
  }, 30_000);
});

describe('node: a partition heals while one peer’s connection is still dead', () => {
  it('the node catches up from the peers that answer and signs again, without waiting for the silent one’s request timeout', async () => {
    // After a firewall partition heals, each TCP connection resumes only at its next retransmission,
    // seconds apart: for a while some peers answer and one does not. Requests to it hang until their
    // timeout (here 20 s, far beyond the bound below): the liveness loop's pull to it and a block
    // sync's status round must not hold the node back for that long.
    let cut = false;
    let v2Dead = false;
    const deadLink = (a: string, b: string): boolean =>
      (cut && (a === 'v3' || b === 'v3')) ||
      (v2Dead && ((a === 'v3' && b === 'v2') || (a === 'v2' && b === 'v3')));
    const network = new MemoryNetwork({ drop: (from, to) => deadLink(from, to) });
    // A request over a dead link is answered once the link is back (TCP delivers what it held), or
    // fails at its timeout.
    const timers: NodeJS.Timeout[] = [];
    const overDeadLink = (peer: string, send: () => unknown): Promise<unknown> =>
      new Promise((resolve, reject) => {
        const sentAt = Date.now();
        const poll = setInterval(() => {
          if (!deadLink('v3', peer)) {
            clearInterval(poll);
            resolve(send());
          } else if (Date.now() - sentAt >= 20_000) {
            clearInterval(poll);
            reject(new Error('request timed out'));
          }
        }, 20);
        poll.unref();
        timers.push(poll);
      });
    const partitioned = routedRequests(network, 'v3', (peer, send) =>
      deadLink('v3', peer) ? overDeadLink(peer, send) : send(),
    );
    const log = recordingLogger();
    const genesis = testGenesis(4, { proposeMs: 200, prevoteMs: 100, precommitMs: 100 });
    const nodes: { node: SynodNode; storage: Awaited<ReturnType<typeof validatorNode>>['storage'] }[] = [];
    for (let i = 0; i < 4; i++) {
      nodes.push(
        await validatorNode(
          partitioned,
          i,
          genesis,
          undefined,
          { livenessIntervalMs: 100 },
          i === 3 ? log : undefined,
        ),
      );
    }
    for (const { node } of nodes) {
      running.push(node);
      await node.start();
    }
    const [v0, , v2, v3] = nodes.map((n) => n.node) as [SynodNode, SynodNode, SynodNode, SynodNode];
    try {
      await heightReached(v3, 2);
      cut = true;
      const cutAt = v3.status().height;
      await heightReached(v0, cutAt + 12);
      // The heal: v3 reaches v0 and v1 again; its link with v2 stays dead.
      v2Dead = true;
      cut = false;
      const healedAt = Date.now();
      const target = v0.status().height;
      await heightReached(v3, target);
      const caughtUpMs = Date.now() - healedAt;
      expect(caughtUpMs, 'caught up well before the silent peer’s requests time out (20 s)').toBeLessThan(
        10_000,
      );
      // Now v2 goes silent for everyone: the chain needs v3's votes to decide.
      network.setConnected('v2', false);
      const now = v0.status().height;
      await Promise.all([heightReached(v0, now + 3), heightReached(v3, now + 3)]);
      await sameBlocks([nodes[0]!, nodes[1]!, nodes[3]!], now + 3);
      expect(v2.status().height).toBeLessThan(now + 3);
      expect(log.lines.map((l) => l.ctx.event)).toContain('partition_healed');
    } finally {
      for (const t of timers) clearInterval(t);
    }
  }, 40_000);
});
