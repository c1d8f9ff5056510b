import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromPublicKey, type KeyPair } from '@synod/crypto';
import { createMemoryKvStore, type KvStore, openLevelKvStore } from '@synod/storage';
import { finalizeRequestFromBlock, type InitChainRequest, type ValidatorSet } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { Ledger, smtRootOf } from '../src/index.js';
import { buildChain, genesisValidatorSet, type Signers, workload } from './chain.js';
import { genesisRequest, TEST_PARAMS, VALIDATOR_KEYS } from './helpers.js';

async function replay(
  kv: KvStore,
  chain: Awaited<ReturnType<typeof buildChain>>,
  signatureCacheSize?: number,
  req: InitChainRequest = genesisRequest(),
  lastValidators?: ValidatorSet,
) {
  const ledger = await Ledger.open(signatureCacheSize === undefined ? { kv } : { kv, signatureCacheSize });
  const hashes = [(await ledger.initChain(req)).appHash];
  const codes: string[][] = [];
  for (const block of chain.blocks) {
    const r = await ledger.finalizeBlock(finalizeRequestFromBlock(block, lastValidators));
    await ledger.commit();
    hashes.push(r.appHash);
    codes.push(r.txResults.map((t) => t.code));
  }
  return { ledger, hashes, codes };
}

describe('determinism', () => {
  it('the same blocks give the same app hash at every height on fresh ledgers (memory and LevelDB)', async () => {
    const chain = await buildChain(workload(42, 40));
    // The workload exercises every path (sanity check of the generator).
    const all = chain.results.flat().map((r) => r.code);
    for (const code of [
      'OK',
      'TX_MALFORMED',
      'TX_BAD_NONCE',
      'TX_INSUFFICIENT_FUNDS',
      'TX_NOT_OPERATOR',
      'TX_NOT_JAILED',
    ]) {
      expect(all).toContain(code);
    }
    expect(chain.updates.flat().length).toBeGreaterThan(0);

    const a = await replay(await createMemoryKvStore(), chain);
    const b = await replay(await createMemoryKvStore(), chain, 0); // no signature cache: same results
    const dir = await mkdtemp(join(tmpdir(), 'ledger-det-'));
    try {
      const level = await openLevelKvStore(dir);
      const c = await replay(level, chain);
      // The double-sign in the middle of the chain was punished.
      expect(c.ledger.validator((VALIDATOR_KEYS[2] as KeyPair).publicKey)?.tombstoned).toBe(true);
      // Application.isTombstoned (the node's evidence pool reads it): by address, false when unknown.
      expect(c.ledger.isTombstoned(addressFromPublicKey((VALIDATOR_KEYS[2] as KeyPair).publicKey))).toBe(
        true,
      );
      expect(c.ledger.isTombstoned(addressFromPublicKey((VALIDATOR_KEYS[0] as KeyPair).publicKey))).toBe(
        false,
      );
      expect(c.ledger.isTombstoned(new Uint8Array(20))).toBe(false);
      expect(c.ledger.isTombstoned(new Uint8Array(3))).toBe(false);
      for (const run of [a, b, c]) {
        expect(run.hashes).toEqual(chain.appHashes);
        expect(run.codes).toEqual(chain.results.map((rs) => rs.map((r) => r.code)));
      }
      await level.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // App hashes differ between heights where state changed.
    expect(new Set(chain.appHashes.map((h) => Buffer.from(h).toString('hex'))).size).toBeGreaterThan(20);
  });

  it('a different workload gives different hashes; the same seed gives the same chain twice', async () => {
    const one = await buildChain(workload(7, 10));
    const two = await buildChain(workload(7, 10));
    const other = await buildChain(workload(8, 10));
    expect(two.appHashes).toEqual(one.appHashes);
    expect(other.appHashes.at(-1)).not.toEqual(one.appHashes.at(-1));
  });

  it('with signatures in the commits (signing infos and downtime jails in the state) replays give the same hashes', async () => {
    // A small window so downtime trips within the chain: validator 0 of the set signs one block in three.
    const req = genesisRequest({
      consensusParams: { ...TEST_PARAMS, slashing: { ...TEST_PARAMS.slashing, signedBlocksWindow: 10 } },
    });
    const signers: Signers = {
      set: genesisValidatorSet(),
      signed: (index, height) => (index === 0 ? height % 3 === 0 : index !== 1 || height % 4 !== 0),
    };
    const chain = await buildChain(workload(42, 40), req, signers);
    const a = await replay(await createMemoryKvStore(), chain, undefined, req, signers.set);
    const dir = await mkdtemp(join(tmpdir(), 'ledger-det-sig-'));
    try {
      const level = await openLevelKvStore(dir);
      const b = await replay(level, chain, 0, req, signers.set);
      for (const run of [a, b]) expect(run.hashes).toEqual(chain.appHashes);
      const first = signers.set.validators[0]?.address as Uint8Array;
      expect(b.ledger.slashingRecord(first)?.downtimeJails).toBeGreaterThanOrEqual(1);
      expect(
        b.ledger.signingInfo(signers.set.validators[1]?.address as Uint8Array)?.recorded,
      ).toBeGreaterThan(0);
      await level.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // Without the signer list the same blocks give other hashes (the commit info is part of the input).
    const blind = await replay(await createMemoryKvStore(), chain, undefined, req);
    expect(blind.hashes.at(-1)).not.toEqual(chain.appHashes.at(-1));
  });

  it('the app hash is the sparse Merkle root of the whole persisted state (audit from the store)', async () => {
    const chain = await buildChain(workload(3, 15));
    const kv = await createMemoryKvStore();
    const { hashes } = await replay(kv, chain);
    const latest = await kv.entries({ gte: Uint8Array.of(0x4c), lt: Uint8Array.of(0x4d) });
    const entries = latest.map((e) => [e.key.slice(1), e.value.slice(8)] as const);
    expect(smtRootOf(entries)).toEqual(hashes.at(-1));
  });
});
