/**
 * `pnpm bench`: real libp2p nodes on 127.0.0.1, all in this one process.
 *
 * 1. Mesh formation and one-to-all latency for 4 and 10 fully connected
 *    nodes: node 0 publishes signed votes one at a time; for each, the time
 *    until the LAST other node's handler has it (decode, signature check,
 *    delivery included). p50 / p99 over the samples.
 * 2. Votes per second one node validates (signature checks included) and
 *    forwards: a raw gossipsub publisher → the Synod node under test → a raw
 *    gossipsub counter. Only the middle node runs Synod validation; the other
 *    two share its process (and CPU), so this is a lower bound.
 * 3. validateVote alone (no network), the ceiling for (2).
 *
 * Numbers only: nothing here asserts a timing.
 */
import '@synod/polyfills';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { type GossipSub, gossipsub, StrictNoSign } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { Libp2p } from '@libp2p/interface';
import { ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { sha256 } from '@synod/crypto';
import { encodeSignedVote, type SignedVote } from '@synod/types';
import { createLibp2p } from 'libp2p';
import { DEFAULT_MESSAGE_LIMITS, type Network, topicName } from '../src/index.js';
import { DEFAULT_HEIGHT_WINDOW, validateVote } from '../src/validation/validate.js';
import {
  CHAIN_ID,
  connectAll,
  makeValidators,
  startNodes,
  stopAll,
  type Validators,
  vote,
} from '../test/fixtures.js';

interface Row {
  readonly name: string;
  readonly value: string;
}

const rows: Row[] = [];

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

const ms = (n: number): string => `${n.toFixed(2)} ms`;
const rate = (n: number): string => `${Math.round(n).toLocaleString('en-US')} /s`;

async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

// --- 1. one-to-all latency ---------------------------------------------------------

async function latency(n: number, samples: number): Promise<void> {
  const vals = makeValidators(4);
  // production mesh settings; a generous dial timeout (45 handshakes at once share one CPU here);
  // every node is on 127.0.0.1, one IP, so the per-IP inbound limits would refuse most of them
  const nodes: Network[] = await startNodes(n, vals, () => ({
    mesh: { heartbeatIntervalMs: 700 },
    peerManager: { dialTimeoutMs: 20_000 },
    inboundConnections: { allow: ['127.0.0.1'] },
  }));
  try {
    const t0 = performance.now();
    await connectAll(nodes);
    // flood publish: node 0's own messages go to every subscribed peer in one hop
    await until(() => nodes.every((node) => node.connectedPeers().length === n - 1), 'full connectivity');
    const meshTarget = Math.min(n - 1, 6);
    await until(() => nodes.every((node) => node.meshPeers('votes').length >= meshTarget), 'mesh');
    rows.push({
      name: `${n} nodes: connected + mesh formed (D_lo=${meshTarget})`,
      value: ms(performance.now() - t0),
    });

    const votes: SignedVote[] = Array.from({ length: samples + 20 }, (_, i) => vote(vals.keyAt(i % 4), 1, i));
    const arrivals = new Map<number, number>();
    let pending = 0;
    let done: (() => void) | undefined;
    for (const node of nodes.slice(1)) {
      node.onVote(({ message }) => {
        arrivals.set(message.vote.round, performance.now());
        pending--;
        if (pending === 0) done?.();
      });
    }
    const publisher = nodes[0];
    if (publisher === undefined) throw new Error('bench setup');
    const results: number[] = [];
    for (const [i, sv] of votes.entries()) {
      pending = n - 1;
      const all = new Promise<void>((r) => {
        done = r;
      });
      const start = performance.now();
      await publisher.publishVote(sv);
      await all;
      const latencyMs = (arrivals.get(sv.vote.round) ?? Number.NaN) - start;
      if (i >= 20) results.push(latencyMs); // the first 20 warm up
    }
    results.sort((a, b) => a - b);
    rows.push({ name: `${n} nodes: one-to-all vote latency p50`, value: ms(quantile(results, 0.5)) });
    rows.push({ name: `${n} nodes: one-to-all vote latency p99`, value: ms(quantile(results, 0.99)) });
  } finally {
    await stopAll(nodes);
  }
}

// --- 2. validate-and-forward throughput ------------------------------------------------

async function rawNode(): Promise<Libp2p<{ pubsub: GossipSub }>> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        globalSignaturePolicy: StrictNoSign,
        fallbackToFloodsub: false,
        allowPublishToZeroTopicPeers: true,
        msgIdFn: (m) => sha256(m.data).subarray(0, 20),
      }),
    },
  });
}

function signedVotes(vals: Validators, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    out.push(
      encodeSignedVote(
        vote(vals.keyAt(i % vals.keys.length), 1, Math.floor(i / vals.keys.length), 'prevote'),
      ),
    );
  }
  return out;
}

async function forwardThroughput(count: number): Promise<void> {
  const vals = makeValidators(100, 3);
  const votes = signedVotes(vals, count);
  const [middle] = await startNodes(1, vals, () => ({
    validation: {
      chainId: CHAIN_ID,
      currentHeight: () => 1,
      validatorSetAt: () => vals.set,
      proposerIndex: () => 0,
    },
  }));
  const source = await rawNode();
  const sink = await rawNode();
  const topic = topicName(CHAIN_ID, 'votes');
  try {
    if (middle === undefined) throw new Error('bench setup');
    sink.services.pubsub.subscribe(topic);
    let received = 0;
    let published = 0;
    let last = 0;
    sink.services.pubsub.addEventListener('message', () => {
      received++;
      last = performance.now();
    });
    await source.dial(multiaddr(middle.addresses()[0] ?? ''));
    await sink.dial(multiaddr(middle.addresses()[0] ?? ''));
    await until(
      () => source.services.pubsub.getSubscribers(topic).length === 1,
      'source sees the middle node',
    );
    await until(
      () => middle.meshPeers('votes').includes(sink.peerId.toString()),
      'middle node meshes with the sink',
    );
    let accepted = 0;
    middle.onVote(() => {
      accepted++;
    });
    // flow control, as a real peer's stream gives: at most WINDOW votes in flight
    const WINDOW = 512;
    let wake: (() => void) | undefined;
    sink.services.pubsub.addEventListener('message', () => wake?.());
    const start = performance.now();
    for (const data of votes) {
      while (published - received >= WINDOW) {
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 1_000);
        });
      }
      await source.services.pubsub.publish(topic, data);
      published++;
      if (published % 64 === 0) await new Promise((r) => setImmediate(r));
    }
    await until(() => received === count, `all ${count} votes forwarded`, 60_000).catch(() => {});
    const elapsed = (last - start) / 1000;
    rows.push({
      name: `votes validated + forwarded by one node (${count}, 100 validators)`,
      value: rate(received / elapsed),
    });
    rows.push({
      name: '  accepted by it / delivered downstream / published',
      value: `${accepted} / ${received} / ${count}`,
    });
  } finally {
    await middle?.stop();
    await source.stop();
    await sink.stop();
  }
}

// --- 3. validation alone -----------------------------------------------------------

function validateOnly(count: number): void {
  const vals = makeValidators(100, 3);
  const votes = signedVotes(vals, count);
  const params = {
    ctx: {
      chainId: CHAIN_ID,
      currentHeight: () => 1,
      validatorSetAt: () => vals.set,
      proposerIndex: () => 0,
    },
    limits: DEFAULT_MESSAGE_LIMITS,
    window: DEFAULT_HEIGHT_WINDOW,
  };
  for (const v of votes.slice(0, 2_000)) validateVote(v, params);
  const start = performance.now();
  for (const v of votes) validateVote(v, params);
  rows.push({
    name: 'validateVote alone (decode + window + set lookup + signature)',
    value: rate(count / ((performance.now() - start) / 1000)),
  });
}

await latency(4, 500);
await latency(10, 500);
await forwardThroughput(20_000);
validateOnly(20_000);

const width = Math.max(...rows.map((r) => r.name.length));
console.log(
  `\n@synod/p2p bench (Node ${process.version}, ${process.platform}/${process.arch}, loopback, one process)\n`,
);
for (const r of rows) console.log(`${r.name.padEnd(width)}  ${r.value}`);
console.log();
