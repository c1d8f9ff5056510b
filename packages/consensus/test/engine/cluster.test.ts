import { toHex } from '@synod/crypto';
import { type Block, blockHash, EMPTY_COMMIT, type SignedProposal, type SignedVote } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { ConsensusEngine, type ConsensusNetwork } from '../../src/index.js';
import {
  CHAIN_ID,
  EventLog,
  FakeApp,
  FakeBlockStore,
  label,
  ManualClock,
  MemoryStateStore,
  MemoryWal,
  PARAMS,
  roundZeroProposer,
  TestSigner,
  testValidators,
} from './fakes.js';

/** Four engines over an in-memory gossip network and one manual clock. */
function cluster(
  silent: ReadonlySet<number> = new Set(),
  extra: (i: number) => Partial<ConstructorParameters<typeof ConsensusEngine>[0]> = () => ({}),
) {
  const { set, keyOf } = testValidators();
  const clock = new ManualClock();
  const engines: ConsensusEngine[] = [];
  const stores: FakeBlockStore[] = [];
  const blocks = new Map<string, Block>();
  for (let i = 0; i < 4; i++) {
    const log = new EventLog();
    const network: ConsensusNetwork = {
      broadcastProposal(p: SignedProposal, block: Block) {
        blocks.set(toHex(blockHash(block)), block);
        if (silent.has(i)) return;
        for (const [j, e] of engines.entries()) if (j !== i) void e.receiveProposal(p, block);
      },
      broadcastVote(v: SignedVote) {
        if (silent.has(i)) return;
        for (const [j, e] of engines.entries()) if (j !== i) void e.receiveVote(v);
      },
      async fetchBlock(hash) {
        return blocks.get(toHex(hash));
      },
    };
    const app = new FakeApp(log, set);
    app.nextLabel = `by-${i}`;
    const store = new FakeBlockStore(log);
    stores.push(store);
    engines.push(
      new ConsensusEngine({
        chainId: CHAIN_ID,
        signer: new TestSigner(keyOf(i), new MemoryStateStore(), log),
        wal: new MemoryWal(log),
        blockStore: store,
        network,
        application: app,
        clock,
        params: PARAMS,
        start: { height: 1, validatorSet: set, lastCommit: EMPTY_COMMIT },
        ...extra(i),
      }),
    );
  }
  const settle = async () => {
    for (let k = 0; k < 20; k++) {
      await new Promise((r) => setImmediate(r));
      await Promise.all(engines.map((e) => e.idle()));
    }
  };
  /** Runs the clock forward in steps until every engine holds `height` blocks (or gives up). */
  const runUntil = async (height: number, budgetMs = 120_000) => {
    for (let t = 0; t < budgetMs; t += 50) {
      await settle();
      const live = stores.filter((_, i) => !silent.has(i));
      if (live.every((s) => s.height() >= height)) return;
      clock.advance(50);
    }
  };
  return { engines, stores, settle, runUntil, clock, set };
}

describe('four engines', () => {
  it('decide the same chain, each proposer in turn', async () => {
    const c = cluster();
    await Promise.all(c.engines.map((e) => e.start()));
    await c.runUntil(6);
    const chains = c.stores.map((s) => s.blocks.slice(0, 6).map((b) => label(b.block)));
    expect(chains[0]).toEqual(['by-0', 'by-1', 'by-2', 'by-3', 'by-0', 'by-1']);
    for (const chain of chains) expect(chain).toEqual(chains[0]);
    expect(c.engines.every((e) => e.halted === undefined)).toBe(true);
  });

  it('go on without a silent validator, changing rounds when it should propose', async () => {
    const c = cluster(new Set([1]));
    await Promise.all(c.engines.map((e) => e.start()));
    await c.runUntil(3);
    const live = [0, 2, 3].map((i) => (c.stores[i] as FakeBlockStore).blocks.slice(0, 3));
    for (const chain of live)
      expect(chain.map((b) => label(b.block))).toEqual(live[0]?.map((b) => label(b.block)));
    // Height 2 belongs to validator 1 at round 0: it was decided in a later round, by someone else.
    expect(live[0]?.[1]?.commit.round).toBeGreaterThan(0);
    expect(label(live[0]?.[1]?.block as Block)).not.toBe('by-1');
  });
});

describe('four engines, node-local options', () => {
  it('haltHeight: each engine decides that height, calls onHaltHeight once and starts no next height', async () => {
    const halted: [number, number][] = [];
    const c = cluster(new Set(), (i) => ({
      haltHeight: 3,
      onHaltHeight: (h: number) => halted.push([i, h]),
    }));
    for (const e of c.engines) await e.start();
    await c.runUntil(5, 30_000);
    expect(c.stores.map((s) => s.height())).toEqual([3, 3, 3, 3]);
    expect(halted.sort()).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    for (const e of c.engines) await e.stop();
  });

  it('timeoutScale multiplies the wait for a silent proposer (simulated clock)', async () => {
    const decidedAfter = async (scale: number): Promise<number> => {
      const probe = cluster();
      const proposer = probe.set.validators.findIndex(
        (v) => toHex(v.address) === toHex(roundZeroProposer(1)),
      );
      const c = cluster(new Set([proposer]), () => ({ timeoutScale: scale }));
      const t0 = c.clock.now();
      for (const e of c.engines) await e.start();
      await c.runUntil(1, 60_000);
      const live = c.stores.filter((_, i) => i !== proposer);
      expect(live.every((s) => s.height() >= 1)).toBe(true);
      for (const e of c.engines) await e.stop();
      return c.clock.now() - t0;
    };
    const normal = await decidedAfter(1);
    const slow = await decidedAfter(3);
    // Round 0's propose timeout (1 s at scale 1) is waited out before round 1.
    expect(normal).toBeGreaterThanOrEqual(PARAMS.timeouts.proposeMs);
    expect(normal).toBeLessThan(3 * PARAMS.timeouts.proposeMs);
    expect(slow).toBeGreaterThanOrEqual(3 * PARAMS.timeouts.proposeMs);
  });

  it('a timeoutScale outside [0.1, 10] is refused', () => {
    expect(() => cluster(new Set(), () => ({ timeoutScale: 20 }))).toThrow(
      /timeoutScale must be in \[0.1, 10\]/,
    );
  });
});
