import { join } from 'node:path';
import { verify } from '@synod/crypto';
import {
  isSynodError,
  type LastSignState,
  type SignerStateStore,
  type SignRequest,
  type SignStep,
} from '@synod/types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSigner, FileSignerStateStore, MemorySignerStateStore } from '../../src/index.js';
import { tempDir } from '../temp-dir.js';

const seed = new Uint8Array(32).fill(7);
const otherSeed = new Uint8Array(32).fill(8);
const req = (height: number, round: number, step: SignStep, tag = 'a'): SignRequest => ({
  height,
  round,
  step,
  signBytes: new TextEncoder().encode(`${height}/${round}/${step}/${tag}`),
});

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return isSynodError(err) ? err.code : err === undefined ? undefined : 'NOT_A_SYNOD_ERROR';
}

describe('ValidatorSigner', () => {
  it('signs and checks its stored state with a given scheme instead of Ed25519, under the same guard', async () => {
    // A toy scheme: the signature is 64 bytes of (seed[0] + message length).
    const scheme = {
      sign: (s: Uint8Array, _pk: Uint8Array, m: Uint8Array) =>
        new Uint8Array(64).fill((s[0] as number) + m.length),
      verify: (_pk: Uint8Array, m: Uint8Array, sig: Uint8Array) => sig[0] === 7 + m.length,
    };
    const store = new MemorySignerStateStore();
    const signer = await createSigner(seed, store, scheme);
    const r = req(2, 0, 'prevote');
    const sig = await signer.sign(r);
    expect(sig).toEqual(new Uint8Array(64).fill(7 + r.signBytes.length));
    expect(verify(signer.publicKey, r.signBytes, sig)).toBe(false);
    expect(await codeOf(signer.sign(req(2, 0, 'prevote', 'other')))).toBe('SIGNER_DOUBLE_SIGN');
    // The stored state is checked with the scheme: the same key loads it, Ed25519 does not accept it.
    expect((await createSigner(seed, store, scheme)).lastSignState()?.signature).toEqual(sig);
    expect(await codeOf(createSigner(seed, store))).toBe('SIGNER_KEY_MISMATCH');
  });

  it('signs with the validator key and persists the state before returning', async () => {
    const store = new MemorySignerStateStore();
    const signer = await createSigner(seed, store);
    expect(signer.publicKey.length).toBe(32);
    expect(signer.address.length).toBe(20);
    const r = req(1, 0, 'prevote');
    const sig = await signer.sign(r);
    expect(verify(signer.publicKey, r.signBytes, sig)).toBe(true);
    expect(await store.load()).toEqual({ ...r, signature: sig });
  });

  it('returns the stored signature for identical bytes without saving again', async () => {
    const store = new MemorySignerStateStore();
    const signer = await createSigner(seed, store);
    const first = await signer.sign(req(3, 1, 'precommit'));
    const again = await signer.sign(req(3, 1, 'precommit'));
    expect(again).toEqual(first);
    expect(store.saves).toBe(1);
  });

  it('refuses different bytes at the same height, round and step', async () => {
    const store = new MemorySignerStateStore();
    const signer = await createSigner(seed, store);
    await signer.sign(req(3, 1, 'prevote', 'block-A'));
    expect(await codeOf(signer.sign(req(3, 1, 'prevote', 'block-B')))).toBe('SIGNER_DOUBLE_SIGN');
    expect((await store.load())?.signBytes).toEqual(req(3, 1, 'prevote', 'block-A').signBytes);
  });

  it('refuses every regression: lower height, lower round, earlier step', async () => {
    const signer = await createSigner(seed, new MemorySignerStateStore());
    await signer.sign(req(5, 2, 'prevote'));
    expect(await codeOf(signer.sign(req(4, 9, 'precommit')))).toBe('SIGNER_REGRESSION');
    expect(await codeOf(signer.sign(req(5, 1, 'precommit')))).toBe('SIGNER_REGRESSION');
    expect(await codeOf(signer.sign(req(5, 2, 'proposal')))).toBe('SIGNER_REGRESSION');
    expect(await codeOf(signer.sign(req(5, 2, 'precommit')))).toBeUndefined();
    expect(await codeOf(signer.sign(req(5, 3, 'proposal')))).toBeUndefined();
    expect(await codeOf(signer.sign(req(6, 0, 'proposal')))).toBeUndefined();
  });

  it('keeps its guarantees across a restart from the state file', async () => {
    const dir = await tempDir('signer-restart');
    try {
      const path = join(dir.path, 'signer-state.json');
      const first = await createSigner(seed, new FileSignerStateStore(path));
      const sig = await first.sign(req(10, 0, 'precommit', 'X'));
      const restarted = await createSigner(seed, new FileSignerStateStore(path));
      expect(restarted.lastSignState()?.height).toBe(10);
      expect(await restarted.sign(req(10, 0, 'precommit', 'X'))).toEqual(sig);
      expect(await codeOf(restarted.sign(req(10, 0, 'precommit', 'Y')))).toBe('SIGNER_DOUBLE_SIGN');
      expect(await codeOf(restarted.sign(req(10, 0, 'prevote', 'X')))).toBe('SIGNER_REGRESSION');
    } finally {
      await dir.remove();
    }
  });

  it('releases no signature until the state is durable, and none if the save fails', async () => {
    let release: (() => void) | undefined;
    let fail = false;
    const saved: LastSignState[] = [];
    const store: SignerStateStore = {
      load: async () => undefined,
      save: (s) =>
        new Promise<void>((resolve, reject) => {
          release = () => {
            if (fail) reject(new Error('disk full'));
            else {
              saved.push(s);
              resolve();
            }
          };
        }),
    };
    const signer = await createSigner(seed, store);
    let settled = false;
    const p = signer.sign(req(1, 0, 'prevote')).finally(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    release?.();
    await p;
    expect(saved.length).toBe(1);
    fail = true;
    const q = signer.sign(req(2, 0, 'prevote'));
    await new Promise((r) => setTimeout(r, 5));
    release?.();
    expect(await codeOf(q)).toBe('SIGNER_STATE_WRITE_FAILED');
    // Broken until restarted: even a request that would otherwise be fine is refused.
    expect(await codeOf(signer.sign(req(9, 0, 'prevote')))).toBe('SIGNER_STATE_WRITE_FAILED');
  });

  it('of two concurrent conflicting requests exactly one is signed', async () => {
    const signer = await createSigner(seed, new MemorySignerStateStore());
    const results = await Promise.allSettled([
      signer.sign(req(4, 0, 'prevote', 'A')),
      signer.sign(req(4, 0, 'prevote', 'B')),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  });

  it('refuses a state signed by another key, a bad seed and malformed requests', async () => {
    const store = new MemorySignerStateStore();
    await (await createSigner(otherSeed, store)).sign(req(1, 0, 'prevote'));
    expect(await codeOf(createSigner(seed, store))).toBe('SIGNER_KEY_MISMATCH');
    expect(await codeOf(createSigner(new Uint8Array(31), store))).toBe('KEY_FILE_INVALID');
    const signer = await createSigner(seed, new MemorySignerStateStore());
    const bad = [
      { ...req(1, 0, 'prevote'), height: -1 },
      { ...req(1, 0, 'prevote'), round: 0.5 },
      { ...req(1, 0, 'prevote'), step: 'commit' as SignStep },
      { ...req(1, 0, 'prevote'), signBytes: 'x' as unknown as Uint8Array },
    ];
    for (const r of bad) expect(await codeOf(signer.sign(r))).toBe('ENCODE_INVALID_VALUE');
  });

  it('never releases two different signatures for one (height, round, step) (property)', async () => {
    const steps: SignStep[] = ['proposal', 'prevote', 'precommit'];
    const request = fc.record({
      height: fc.integer({ min: 1, max: 4 }),
      round: fc.integer({ min: 0, max: 2 }),
      step: fc.constantFrom(...steps),
      tag: fc.constantFrom('a', 'b'),
      restart: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 40 }), async (requests) => {
        const store = new MemorySignerStateStore();
        let signer = await createSigner(seed, store);
        const released = new Map<string, string>();
        let lastNew: [number, number, number] | undefined;
        for (const r of requests) {
          if (r.restart) signer = await createSigner(seed, store);
          const sr = req(r.height, r.round, r.step, r.tag);
          const sig = await signer.sign(sr).catch(() => undefined);
          if (sig === undefined) continue;
          const hrs = `${r.height}/${r.round}/${r.step}`;
          const hex = Buffer.from(sig).toString('hex');
          const before = released.get(hrs);
          if (before !== undefined) expect(hex).toBe(before);
          else {
            const order: [number, number, number] = [r.height, r.round, steps.indexOf(r.step)];
            if (lastNew !== undefined) {
              const cmp = order[0] - lastNew[0] || order[1] - lastNew[1] || order[2] - lastNew[2];
              expect(cmp).toBeGreaterThan(0);
            }
            lastNew = order;
            released.set(hrs, hex);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
