/**
 * The victim of `scripts/hostile-peer.ts`, in a process of its own so its
 * memory and CPU are its own: a @synod/p2p node serving a 20-block chain,
 * instrumented with `PeerLedger` and `ResourceSampler`. Driven over IPC:
 *
 *     → ready { address, peerId }
 *     ← attack-start   (memory and CPU sampling start)
 *     ← attack-end     (the CPU window closes; memory sampling goes on)
 *     ← report         → report { … } and the process exits
 */
import '@synod/polyfills';
import { createNetwork } from '../../src/index.js';
import { chainProvider, makeChain, makeValidators, testNodeOptions } from '../fixtures.js';
import { Deliveries } from './honest.js';
import { PeerLedger, type PeerRecord, type ResourceFigures, ResourceSampler } from './probe.js';

export interface VictimReport {
  readonly type: 'report';
  readonly resources: ResourceFigures;
  readonly peers: [string, PeerRecord][];
  readonly errors: string[];
  /** Honest vote delays at the victim: [seq, ms]. */
  readonly delays: [number, number][];
  /** Votes delivered to the victim's handlers that were not honest. */
  readonly foreign: number;
  /** Most messages waiting in the votes and proposals queues at once. */
  readonly queuePeak: { votes: number; proposals: number };
}

export type VictimCommand = { type: 'attack-start' } | { type: 'attack-end' } | { type: 'report' };

export const VICTIM_NODE_INDEX = 300;

async function main(): Promise<void> {
  const vals = makeValidators(4);
  const ledger = new PeerLedger();
  const deliveries = new Deliveries();
  const network = await createNetwork(
    // no metrics: a recording registry would add its own cost to every message
    testNodeOptions(VICTIM_NODE_INDEX, vals, {
      logger: ledger,
      provider: chainProvider(makeChain(vals, 20, 1)),
    }),
  );
  network.onVote(({ message }) => deliveries.record(message));
  await network.start();
  const sampler = new ResourceSampler();
  const queuePeak = { votes: 0, proposals: 0 };
  let queueTimer: ReturnType<typeof setInterval> | undefined;
  const send = (msg: unknown): void => {
    process.send?.(msg);
  };
  process.on('message', (cmd: VictimCommand) => {
    switch (cmd.type) {
      case 'attack-start':
        sampler.start();
        queueTimer = setInterval(() => {
          const q = network.queueLengths();
          queuePeak.votes = Math.max(queuePeak.votes, q.votes);
          queuePeak.proposals = Math.max(queuePeak.proposals, q.proposals);
        }, 20);
        return;
      case 'attack-end':
        sampler.stopCpu();
        return;
      case 'report': {
        if (queueTimer !== undefined) clearInterval(queueTimer);
        const report: VictimReport = {
          type: 'report',
          resources: sampler.finish(),
          peers: [...ledger.peers],
          errors: ledger.errors,
          delays: [...deliveries.delayMs],
          foreign: deliveries.foreign,
          queuePeak,
        };
        send(report);
        void network.stop().finally(() => process.exit(0));
        return;
      }
    }
  });
  send({ type: 'ready', address: network.addresses()[0], peerId: network.peerId });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
