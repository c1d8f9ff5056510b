/**
 * A 4-validator testnet of real synodd processes on 127.0.0.1 (`synodd
 * testnet`), plus a non-validator started later:
 * - all four commit identical blocks (same hash at every height);
 * - SIGKILL one: the other three keep committing;
 * - SIGKILL a second: no new height (2 of 4 is not more than 2/3);
 * - restart both: the chain resumes, no fork, and their signer state never
 *   went back (no double sign);
 * - the non-validator block-syncs to the tip, then follows consensus.
 */
import { join } from 'node:path';
import { addressFromPublicKey, readKeyFile, sign } from '@synod/crypto';
import { DEFAULT_MIN_FEE } from '@synod/ledger';
import { encodeTx, type TxBody, txSignBytes } from '@synod/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS_OFFSET, PORT_STEP, RPC_OFFSET } from '../../src/commands/testnet.js';
import {
  eventually,
  executedBlocks,
  freeBasePort,
  lastHeight,
  NodeProcess,
  rpc,
  signedHeight,
  synodd,
  tempDir,
  until,
} from './harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
const running: NodeProcess[] = [];

beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  for (const n of running)
    if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
  await dir.remove();
});

function start(home: string): NodeProcess {
  const n = new NodeProcess(['--home', home, '--log_level', 'daemon:debug,*:info']);
  running.push(n);
  return n;
}

/** Every pair of nodes agrees on the hash of every height both executed; returns the heights compared. */
function assertNoFork(nodes: readonly NodeProcess[][]): number {
  const reference = new Map<number, string>();
  for (const lives of nodes)
    for (const life of lives)
      for (const [h, hash] of executedBlocks(life)) {
        const seen = reference.get(h);
        if (seen === undefined) reference.set(h, hash);
        else expect(hash, `height ${h}`).toBe(seen);
      }
  return reference.size;
}

describe('synodd 4-validator testnet', () => {
  // Several process starts, kills and a block sync: slow on a loaded 2-core machine, hence its own time limit.
  it('commits identical blocks; survives one crash, stalls at two, resumes on restart; a late follower syncs', async () => {
    const base = await freeBasePort(5);
    const out = join(dir.path, 'net');
    const written = await synodd([
      'testnet',
      '--validators',
      '4',
      '--non-validators',
      '1',
      '--accounts',
      '1',
      '--out',
      out,
      '--chain-id',
      'e2e-net',
      '--base-port',
      String(base),
    ]);
    expect(written.code, written.stderr).toBe(0);
    const home = (i: number): string => join(out, `node${i}`);
    const lives: NodeProcess[][] = [0, 1, 2, 3].map((i) => [start(home(i))]);
    const current = (i: number): NodeProcess => lives[i]?.at(-1) as NodeProcess;

    // All four commit.
    await until(() => [0, 1, 2, 3].every((i) => lastHeight(current(i)) >= 3), 'four validators at height 3');

    // A transaction submitted to node0 reaches node1 by gossip, whose signature node1's verify
    // workers check (verify_workers "auto": the pool's counter, from node1's metrics).
    const sender = (await readKeyFile(join(out, 'keys', 'account0.json'))).keyPair;
    const body: TxBody = {
      chainId: 'e2e-net',
      sender: sender.publicKey,
      nonce: 0,
      fee: DEFAULT_MIN_FEE,
      gasLimit: 10_000,
      msg: { kind: 'transfer', to: addressFromPublicKey(sender.publicKey), amount: 1n },
      memo: new Uint8Array(0),
    };
    const tx = encodeTx({ body, signature: sign(sender, txSignBytes('e2e-net', body)) });
    const submitted = await rpc<{ code: number }>(base + RPC_OFFSET, 'broadcast_tx_sync', {
      tx: Buffer.from(tx).toString('base64'),
    });
    expect(submitted.code).toBe(0);
    const offloaded = async (): Promise<number> => {
      const text = await (
        await fetch(`http://127.0.0.1:${base + PORT_STEP + METRICS_OFFSET}/metrics`)
      ).text();
      return Number(/^synod_verify_pool_signatures_total\{path="worker"\} (\d+)$/m.exec(text)?.[1] ?? -1);
    };
    await eventually(
      async () => (await offloaded()) >= 1,
      'node1 verifying the gossiped transaction in a worker',
      {
        timeoutMs: 20_000,
      },
    );

    // SIGKILL one: the others keep committing.
    const signedBefore3 = await signedHeight(home(3));
    await current(3).stop('SIGKILL');
    const h1 = lastHeight(current(0));
    await until(
      () => [0, 1, 2].every((i) => lastHeight(current(i)) >= h1 + 3),
      'three validators commit 3 more heights',
    );

    // SIGKILL a second: no new height.
    const signedBefore2 = await signedHeight(home(2));
    await current(2).stop('SIGKILL');
    const stalledAt = Math.max(lastHeight(current(0)), lastHeight(current(1)));
    await new Promise((r) => setTimeout(r, 3000));
    // (a block already decided by the quorum may still be executed once)
    expect(Math.max(lastHeight(current(0)), lastHeight(current(1)))).toBeLessThanOrEqual(stalledAt + 1);
    const stalled = Math.max(lastHeight(current(0)), lastHeight(current(1)));
    await new Promise((r) => setTimeout(r, 1500));
    expect(Math.max(lastHeight(current(0)), lastHeight(current(1)))).toBe(stalled);

    // Restart both: the chain resumes; their signer state never went back.
    lives[2]?.push(start(home(2)));
    lives[3]?.push(start(home(3)));
    await until(
      () => [0, 1, 2, 3].every((i) => lastHeight(current(i)) >= stalled + 3),
      'the chain resumes on all four',
      30_000,
    );
    expect(await signedHeight(home(2))).toBeGreaterThanOrEqual(signedBefore2);
    expect(await signedHeight(home(3))).toBeGreaterThanOrEqual(signedBefore3);
    for (const i of [2, 3])
      expect(
        current(i).lines.some((l) => l.level === 'error'),
        current(i).stderr,
      ).toBe(false);

    // A non-validator started late block-syncs to the tip, then follows consensus.
    const tip = lastHeight(current(0));
    const follower = start(home(4));
    lives.push([follower]);
    await follower.waitForLine((l) => l.msg === 'block sync done' && l.module === 'daemon', 20_000);
    await until(() => lastHeight(follower) >= tip, 'the follower reaches the tip');
    const synced = lastHeight(follower);
    await until(() => lastHeight(follower) >= synced + 3, 'the follower follows consensus');

    expect(assertNoFork(lives)).toBeGreaterThanOrEqual(stalled + 3);
    const alive = lives.map((l) => l.at(-1) as NodeProcess);
    const stops = await Promise.all(alive.map((n) => n.stop('SIGTERM')));
    expect(stops.map((s) => s.code)).toEqual([0, 0, 0, 0, 0]);
  }, 120_000);
});
