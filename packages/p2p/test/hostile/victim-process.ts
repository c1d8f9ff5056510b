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
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createNetwork } from '../../src/index.js';
import { chainProvider, makeChain, makeValidators, testNodeOptions } from '../fixtures.js';
import { Deliveries } from './honest.js';
import { PeerLedger, type PeerRecord, type ResourceFigures, ResourceSampler } from './probe.js';
import { CpuProfiler, formatSummary, summarise } from './profile.js';

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
  /** The event loop's delay over the attack (ms): how long a ready callback waited, p99 and max. */
  readonly loopDelayMs: { p99: number; max: number };
  /** The CPU profile's summary (`formatSummary`), when one was asked for. */
  readonly profile: string | undefined;
}

export type VictimCommand =
  /** `profile`: sample the CPU over the attack, written to `dir/name.cpuprofile`. */
  | { type: 'attack-start'; profile?: { dir: string; name: string } }
  | { type: 'attack-end' }
  | { type: 'report' };

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
  const profiler = new CpuProfiler();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  let profileTo: { dir: string; name: string } | undefined;
  let profile: Promise<string | undefined> = Promise.resolve(undefined);
  let queueTimer: ReturnType<typeof setInterval> | undefined;
  const send = (msg: unknown): void => {
    process.send?.(msg);
  };
  process.on('message', (cmd: VictimCommand) => {
    switch (cmd.type) {
      case 'attack-start':
        profileTo = cmd.profile;
        if (profileTo !== undefined) void profiler.start();
        sampler.start();
        loopDelay.reset();
        loopDelay.enable();
        queueTimer = setInterval(() => {
          const q = network.queueLengths();
          queuePeak.votes = Math.max(queuePeak.votes, q.votes);
          queuePeak.proposals = Math.max(queuePeak.proposals, q.proposals);
        }, 20);
        return;
      case 'attack-end': {
        sampler.stopCpu();
        loopDelay.disable();
        const to = profileTo;
        if (to !== undefined)
          profile = profiler
            .stop(to.dir, to.name)
            .then((p) => (p === undefined ? undefined : formatSummary(to.name, summarise(p))));
        return;
      }
      case 'report': {
        if (queueTimer !== undefined) clearInterval(queueTimer);
        void profile.then((summary) => {
          const report: VictimReport = {
            type: 'report',
            resources: sampler.finish(),
            peers: [...ledger.peers],
            errors: ledger.errors,
            delays: [...deliveries.delayMs],
            foreign: deliveries.foreign,
            queuePeak,
            loopDelayMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
            profile: summary,
          };
          send(report);
          void network.stop().finally(() => process.exit(0));
        });
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
