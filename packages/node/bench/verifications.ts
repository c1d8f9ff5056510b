/**
 * Ed25519 verifications per block, with and without the node's memory of
 * accepted signatures: four validators over the in-memory transport commit
 * `HEIGHTS` blocks; @synod/crypto's counters give the real verifications.
 *
 *   pnpm exec tsx packages/node/bench/verifications.ts [heights]
 */
import { resetVerifyStats, verify, verifyStats } from '@synod/crypto';
import { Ledger } from '@synod/ledger';
import { createMemoryNodeStorage, createSigner } from '@synod/storage';
import type { Clock } from '@synod/types';
import { createNode, MemoryNetwork, type SynodNode } from '../src/index.js';
import { testGenesis, VALIDATORS } from '../test/fixtures.js';

const HEIGHTS = Number(process.argv[2] ?? 50);
const clock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

async function run(cached: boolean): Promise<{ perBlock: number; heights: number }> {
  const genesis = testGenesis(4);
  const network = new MemoryNetwork();
  const nodes: SynodNode[] = [];
  for (let i = 0; i < 4; i++) {
    const storage = await createMemoryNodeStorage();
    const key = VALIDATORS[i];
    if (key === undefined) throw new Error('no key');
    nodes.push(
      createNode(
        {
          storage,
          application: await Ledger.open({ kv: storage.state.appState }),
          transport: network.transport(`v${i}`),
          clock,
          signer: await createSigner(key.seed, storage.signerState),
          ...(cached ? {} : { verifySignature: verify }),
        },
        { genesis },
      ),
    );
  }
  for (const n of nodes) await n.start();
  const from = Math.max(...nodes.map((n) => n.status().height));
  resetVerifyStats();
  const first = nodes[0] as SynodNode;
  await new Promise<void>((resolve) => {
    const off = first.on('block', (e) => {
      if (e.height >= from + HEIGHTS) {
        off();
        resolve();
      }
    });
  });
  const s = verifyStats();
  for (const n of nodes) await n.stop();
  const total = s.fastAccepted + s.fastRejected + s.fallbackCalls + s.malformed;
  return { perBlock: total / 4 / HEIGHTS, heights: HEIGHTS };
}

const plain = await run(false);
const cached = await run(true);
console.log(`4 validators, ${HEIGHTS} blocks, Ed25519 verifications per block per node:`);
console.log(`  @synod/crypto verify       ${plain.perBlock.toFixed(2)}`);
console.log(`  createVerifyCache (default) ${cached.perBlock.toFixed(2)}`);
