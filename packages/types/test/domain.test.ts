import { addressFromPublicKey, keyPairFromSeed, merkleRoot, sha256, toHex } from '@synod/crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Block,
  blockDataProblem,
  blockHash,
  canonicalEvidence,
  commitHash,
  consensusParamsProblems,
  DEFAULT_CONSENSUS_PARAMS,
  decodeValidatorSet,
  EMPTY_COMMIT,
  encodeValidatorSet,
  evidenceListHash,
  evidenceStructureProblem,
  genesisToJson,
  genesisValidatorSet,
  isErrorCode,
  isSynodError,
  makeValidatorSet,
  parseGenesis,
  roundTimeoutMs,
  SynodError,
  toJsonValue,
  totalVotingPower,
  txsRoot,
  validatorIndex,
  validatorSetHash,
  ZERO_HASH,
} from '../src/index.js';
import * as arb from './arbitraries.js';

const pub = (i: number) => keyPairFromSeed(new Uint8Array(32).fill(i + 1)).publicKey;

function genesisJson(over: Record<string, unknown> = {}) {
  return {
    chainId: 'synod-test',
    genesisTime: '2026-01-01T00:00:00.000Z',
    validators: [0, 1, 2, 3].map((i) => ({ name: `v${i}`, pubKey: toHex(pub(i)), power: 10 })),
    appState: { accounts: [] },
    ...over,
  };
}

describe('genesis', () => {
  it('parses a valid genesis with default params and round-trips through JSON', () => {
    const g = parseGenesis(genesisJson());
    expect(g.chainId).toBe('synod-test');
    expect(g.initialHeight).toBe(1);
    expect(g.genesisTimeMs).toBe(Date.UTC(2026, 0, 1));
    expect(g.consensusParams).toEqual(DEFAULT_CONSENSUS_PARAMS);
    expect(parseGenesis(JSON.parse(JSON.stringify(genesisToJson(g))))).toEqual(g);
  });

  it('merges partial consensus params', () => {
    const g = parseGenesis(genesisJson({ consensusParams: { timeouts: { proposeMs: 3000 } } }));
    expect(g.consensusParams.timeouts.proposeMs).toBe(3000);
    expect(g.consensusParams.timeouts.prevoteMs).toBe(DEFAULT_CONSENSUS_PARAMS.timeouts.prevoteMs);
  });

  it('lists every problem in one typed error', () => {
    let err: unknown;
    try {
      parseGenesis(
        genesisJson({
          chainId: 'bad chain',
          genesisTime: 'yesterday',
          validators: [
            { pubKey: 'zz', power: 1 },
            { pubKey: toHex(pub(0)), power: 0 },
          ],
          consensusParams: { timeouts: { bogus: 1 } },
        }),
      );
    } catch (e) {
      err = e;
    }
    expect(isSynodError(err, 'GENESIS_INVALID')).toBe(true);
    const problems = (err as SynodError).details?.problems as string[];
    expect(problems.join('\n')).toMatch(/chainId/);
    expect(problems.join('\n')).toMatch(/genesisTime/);
    expect(problems.join('\n')).toMatch(/validators\[0\]\.pubKey/);
    expect(problems.join('\n')).toMatch(/validators\[1\]\.power/);
    expect(problems.join('\n')).toMatch(/bogus/);
  });

  it('rejects duplicate validator keys and non-objects', () => {
    const v = { pubKey: toHex(pub(0)), power: 1 };
    expect(() => parseGenesis(genesisJson({ validators: [v, v] }))).toThrow(/duplicate/);
    expect(() => parseGenesis('nope')).toThrow(SynodError);
    expect(() => parseGenesis(genesisJson({ validators: [] }))).toThrow(/non-empty/);
  });

  it('builds the genesis validator set sorted by address', () => {
    const set = genesisValidatorSet(parseGenesis(genesisJson()));
    expect(set.validators).toHaveLength(4);
    const addrs = set.validators.map((v) => toHex(v.address));
    expect([...addrs].sort()).toEqual(addrs);
    expect(set.validators.every((v) => toHex(v.address) === toHex(addressFromPublicKey(v.pubKey)))).toBe(
      true,
    );
    expect(totalVotingPower(set)).toBe(40);
  });
});

describe('validator sets', () => {
  it('find validators by address', () => {
    fc.assert(
      fc.property(arb.validatorSet, (set) => {
        set.validators.forEach((v, i) => {
          expect(validatorIndex(set, v.address)).toBe(i);
        });
        expect(validatorIndex(set, new Uint8Array(20).fill(0xff))).toBe(-1);
      }),
    );
  });

  it('hash over keys and powers only, not priorities', () => {
    fc.assert(
      fc.property(arb.validatorSet, (set) => {
        const moved = {
          validators: set.validators.map((v) => ({ ...v, proposerPriority: v.proposerPriority / 2n })),
        };
        expect(toHex(validatorSetHash(moved))).toBe(toHex(validatorSetHash(set)));
        const powered = {
          validators: set.validators.map((v, i) => (i === 0 ? { ...v, votingPower: v.votingPower + 1 } : v)),
        };
        expect(toHex(validatorSetHash(powered))).not.toBe(toHex(validatorSetHash(set)));
      }),
    );
  });

  it('reject unsorted, duplicate, zero-power or mismatched validators', () => {
    const v = (i: number, power = 10) => ({
      address: addressFromPublicKey(pub(i)),
      pubKey: pub(i),
      votingPower: power,
      proposerPriority: 0n,
    });
    const set = makeValidatorSet([v(0), v(1), v(2)]);
    expect(() => encodeValidatorSet({ validators: [...set.validators].reverse() })).toThrow(/sorted/);
    expect(() => makeValidatorSet([v(0), v(0)])).toThrow(/sorted/);
    expect(() => makeValidatorSet([v(0, 0)])).toThrow(/zero voting power/);
    expect(() => makeValidatorSet([{ ...v(0), address: new Uint8Array(20) }])).toThrow(/address/);
    const bytes = encodeValidatorSet(set);
    expect(decodeValidatorSet(bytes)).toEqual(set);
  });
});

describe('block hashes', () => {
  it('compute the header data hashes and detect mismatches', () => {
    fc.assert(
      fc.property(arb.block, (b0) => {
        const b: Block = {
          ...b0,
          lastCommit: EMPTY_COMMIT,
          header: {
            ...b0.header,
            txsRoot: txsRoot(b0.txs),
            evidenceHash: evidenceListHash(b0.evidence),
            lastCommitHash: commitHash(EMPTY_COMMIT),
          },
        };
        expect(blockDataProblem(b)).toBeUndefined();
        expect(blockDataProblem({ ...b, txs: [...b.txs, new Uint8Array([1])] })).toMatch(/txsRoot/);
        expect(blockDataProblem({ ...b, evidence: [] })).toBe(
          b.evidence.length === 0 ? undefined : 'evidenceHash does not match',
        );
      }),
      { numRuns: 50 },
    );
  });

  it('hash the header: any header change changes the block hash', () => {
    fc.assert(
      fc.property(arb.block, (b) => {
        const other = {
          ...b,
          header: { ...b.header, timeMs: b.header.timeMs === 0 ? 1 : b.header.timeMs - 1 },
        };
        expect(toHex(blockHash(other))).not.toBe(toHex(blockHash(b)));
        expect(blockHash(b)).toHaveLength(32);
      }),
      { numRuns: 50 },
    );
  });

  it('use RFC 6962 Merkle roots for transactions', () => {
    const txs = [new Uint8Array([1]), new Uint8Array([2])];
    expect(toHex(txsRoot(txs))).toBe(toHex(merkleRoot(txs)));
    expect(toHex(txsRoot([]))).toBe(toHex(sha256(new Uint8Array())));
    expect(commitHash(EMPTY_COMMIT)).toEqual(ZERO_HASH);
  });
});

describe('evidence structure', () => {
  const vote = {
    type: 'prevote' as const,
    height: 5,
    round: 1,
    validatorAddress: new Uint8Array(20).fill(3),
  };
  const sig = new Uint8Array(64);
  it('accepts two different votes of one validator at one (h, r, type), in canonical order', () => {
    const e = canonicalEvidence({
      kind: 'duplicate-vote' as const,
      voteA: { vote: { ...vote, blockHash: new Uint8Array(32).fill(1) }, signature: sig },
      voteB: { vote: { ...vote, blockHash: null }, signature: sig },
      validatorPower: 1,
      totalVotingPower: 4,
      timeMs: 0,
    });
    expect(evidenceStructureProblem(e)).toBeUndefined();
    expect(evidenceStructureProblem({ ...e, voteA: e.voteB, voteB: e.voteA })).toMatch(/canonical order/);
    expect(evidenceStructureProblem({ ...e, voteB: e.voteA })).toMatch(/same block/);
    expect(
      evidenceStructureProblem({ ...e, voteB: { ...e.voteB, vote: { ...e.voteB.vote, round: 2 } } }),
    ).toMatch(/height\/round\/type/);
  });
});

describe('params', () => {
  it('default params are valid', () => {
    expect(consensusParamsProblems(DEFAULT_CONSENSUS_PARAMS)).toEqual([]);
  });

  it('round timeouts grow by delta and are capped', () => {
    const p = DEFAULT_CONSENSUS_PARAMS;
    expect(roundTimeoutMs(p, 'propose', 0)).toBe(p.timeouts.proposeMs);
    expect(roundTimeoutMs(p, 'propose', 2)).toBe(p.timeouts.proposeMs + 2 * p.timeouts.proposeDeltaMs);
    expect(roundTimeoutMs(p, 'precommit', 1_000_000)).toBe(p.timeouts.capMs);
  });

  it('report bad params', () => {
    const bad = {
      ...DEFAULT_CONSENSUS_PARAMS,
      slashing: { ...DEFAULT_CONSENSUS_PARAMS.slashing, downtimeSlashPpm: 2e6 },
    };
    expect(consensusParamsProblems(bad).join()).toMatch(/downtimeSlashPpm/);
  });
});

describe('errors and json', () => {
  it('codes are bounded UPPER_SNAKE strings', () => {
    expect(isErrorCode('VOTE_INVALID_SIGNATURE')).toBe(true);
    expect(isErrorCode('whatever')).toBe(false);
    const e = new SynodError('TX_INVALID', 'bad');
    expect(e.code).toBe('TX_INVALID');
    expect(isSynodError(e, 'TX_INVALID')).toBe(true);
    expect(isSynodError(new Error('x'))).toBe(false);
  });

  it('toJsonValue renders bytes as hex and bigints as strings', () => {
    expect(toJsonValue({ a: new Uint8Array([1, 255]), b: 5n, c: [1n], d: 'x' })).toEqual({
      a: '01ff',
      b: '5',
      c: ['1'],
      d: 'x',
    });
  });
});
