import '@synod/polyfills';
import {
  type Block,
  decodeBlock,
  decodeSignedVote,
  EMPTY_COMMIT,
  encodeBlock,
  encodeSignedVote,
  type SignedVote,
  voteSignBytes,
} from '../src/index.js';

function rate(name: string, iterations: number, fn: (i: number) => void): void {
  for (let i = 0; i < Math.min(iterations / 10, 10_000); i++) fn(i);
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) fn(i);
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${name.padEnd(40)} ${Math.round(iterations / s)
      .toLocaleString('en-US')
      .padStart(12)} /s`,
  );
}

const sv: SignedVote = {
  vote: {
    type: 'precommit',
    height: 123_456,
    round: 2,
    blockHash: new Uint8Array(32).fill(7),
    validatorAddress: new Uint8Array(20).fill(3),
  },
  signature: new Uint8Array(64).fill(9),
};
const svBytes = encodeSignedVote(sv);

const block: Block = {
  header: {
    chainId: 'bench',
    height: 10,
    timeMs: 1_700_000_000_000,
    lastBlockHash: new Uint8Array(32),
    txsRoot: new Uint8Array(32),
    validatorsHash: new Uint8Array(32),
    nextValidatorsHash: new Uint8Array(32),
    consensusParamsHash: new Uint8Array(32),
    appHash: new Uint8Array(32),
    lastResultsHash: new Uint8Array(32),
    evidenceHash: new Uint8Array(32),
    lastCommitHash: new Uint8Array(32),
    proposerAddress: new Uint8Array(20),
  },
  txs: Array.from({ length: 1000 }, (_, i) => new Uint8Array(250).fill(i & 0xff)),
  evidence: [],
  lastCommit: EMPTY_COMMIT,
};
const blockBytes = encodeBlock(block);

console.log('@synod/types codec benchmarks');
rate('signed vote encode', 300_000, () => encodeSignedVote(sv));
rate('signed vote decode', 300_000, () => decodeSignedVote(svBytes));
rate('vote sign bytes', 300_000, () => voteSignBytes('bench', sv.vote));
rate('block encode (1000 txs x 250 B)', 300, () => encodeBlock(block));
rate('block decode (1000 txs x 250 B)', 300, () => decodeBlock(blockBytes));
