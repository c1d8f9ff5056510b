/** Test fixtures: validators, signed votes/proposals/evidence/txs, chains of blocks with commits, nodes. */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { type GossipSub, gossipsub, StrictNoSign } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { Libp2p } from '@libp2p/interface';
import { ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { addressFromPublicKey, type KeyPair, keyPairFromSeed, sha256, sign } from '@synod/crypto';
import {
  type Block,
  blockHash,
  type Commit,
  commitHash,
  DEFAULT_CONSENSUS_PARAMS,
  type DuplicateVoteEvidence,
  EMPTY_COMMIT,
  encodeBlock,
  encodeCommit,
  encodeTx,
  evidenceListHash,
  type Labels,
  type Metrics,
  makeValidatorSet,
  type Proposal,
  proposalSignBytes,
  type SignedProposal,
  type SignedVote,
  type Tx,
  txSignBytes,
  txsRoot,
  type ValidatorSet,
  type Vote,
  type VoteType,
  voteSignBytes,
  ZERO_HASH,
} from '@synod/types';
import { createLibp2p } from 'libp2p';
import {
  type BlockWithCommit,
  createNetwork,
  type Network,
  type NetworkOptions,
  type RequestProvider,
  type ValidationContext,
} from '../src/index.js';

export const CHAIN_ID = 'synod-test';

export function seed(tag: number, i: number): Uint8Array {
  const s = new Uint8Array(32);
  s[0] = tag;
  s[1] = i & 0xff;
  s[2] = (i >> 8) & 0xff;
  s[31] = 7;
  return s;
}

export interface Validators {
  readonly keys: readonly KeyPair[];
  readonly set: ValidatorSet;
  /** Keys in validator-set order. */
  keyAt(index: number): KeyPair;
}

export function makeValidators(n: number, tag = 1): Validators {
  const keys = Array.from({ length: n }, (_, i) => keyPairFromSeed(seed(tag, i)));
  const set = makeValidatorSet(
    keys.map((k) => ({
      address: addressFromPublicKey(k.publicKey),
      pubKey: k.publicKey,
      votingPower: 10,
      proposerPriority: 0n,
    })),
  );
  const byAddress = new Map(
    keys.map((k) => [Buffer.from(addressFromPublicKey(k.publicKey)).toString('hex'), k]),
  );
  return {
    keys,
    set,
    keyAt(index) {
      const v = set.validators[index];
      const k = v === undefined ? undefined : byAddress.get(Buffer.from(v.address).toString('hex'));
      if (k === undefined) throw new Error(`no validator ${index}`);
      return k;
    },
  };
}

export function signVote(key: KeyPair, v: Omit<Vote, 'validatorAddress'>, chainId = CHAIN_ID): SignedVote {
  const vote: Vote = { ...v, validatorAddress: addressFromPublicKey(key.publicKey) };
  return { vote, signature: sign(key, voteSignBytes(chainId, vote)) };
}

export function vote(
  key: KeyPair,
  height: number,
  round = 0,
  type: VoteType = 'prevote',
  hashByte = 0xab,
): SignedVote {
  return signVote(key, { type, height, round, blockHash: new Uint8Array(32).fill(hashByte) });
}

export function makeBlock(
  height: number,
  parent: Uint8Array,
  lastCommit: Commit,
  proposer: KeyPair,
  txs: Uint8Array[] = [],
): Block {
  return {
    header: {
      chainId: CHAIN_ID,
      height,
      timeMs: 1_700_000_000_000 + height * 1000,
      lastBlockHash: parent,
      txsRoot: txsRoot(txs),
      validatorsHash: new Uint8Array(32).fill(1),
      nextValidatorsHash: new Uint8Array(32).fill(1),
      consensusParamsHash: new Uint8Array(32).fill(2),
      appHash: new Uint8Array(32).fill(3),
      lastResultsHash: new Uint8Array(32).fill(4),
      evidenceHash: evidenceListHash([]),
      lastCommitHash: commitHash(lastCommit),
      proposerAddress: addressFromPublicKey(proposer.publicKey),
    },
    txs,
    evidence: [],
    lastCommit,
  };
}

export function signProposal(key: KeyPair, block: Block, round = 0, chainId = CHAIN_ID): SignedProposal {
  const proposal: Proposal = {
    height: block.header.height,
    round,
    polRound: -1,
    blockHash: blockHash(block),
    timestampMs: block.header.timeMs,
    proposerAddress: addressFromPublicKey(key.publicKey),
  };
  return { proposal, signature: sign(key, proposalSignBytes(chainId, proposal)) };
}

export function makeCommit(vals: Validators, height: number, hash: Uint8Array): Commit {
  return {
    height,
    round: 0,
    blockHash: hash,
    signatures: vals.set.validators.map((_, i) => {
      const key = vals.keyAt(i);
      const sv = signVote(key, { type: 'precommit', height, round: 0, blockHash: hash });
      return { flag: 'commit' as const, signature: sv.signature };
    }),
  };
}

/** A valid chain of `n` blocks (heights 1..n), each with the commit that finalised it. */
export function makeChain(vals: Validators, n: number, txsPerBlock = 0): BlockWithCommit[] {
  const out: BlockWithCommit[] = [];
  let parent = ZERO_HASH;
  let lastCommit: Commit = EMPTY_COMMIT;
  for (let h = 1; h <= n; h++) {
    const txs = Array.from({ length: txsPerBlock }, (_, i) => new Uint8Array(64).fill((h + i) & 0xff));
    const block = makeBlock(h, parent, lastCommit, vals.keyAt(h % vals.keys.length), txs);
    const hash = blockHash(block);
    const commit = makeCommit(vals, h, hash);
    out.push({ block, commit });
    parent = hash;
    lastCommit = commit;
  }
  return out;
}

export function duplicateVoteEvidence(
  vals: Validators,
  index: number,
  height: number,
): DuplicateVoteEvidence {
  const key = vals.keyAt(index);
  return {
    kind: 'duplicate-vote',
    voteA: vote(key, height, 0, 'prevote', 0x01),
    voteB: vote(key, height, 0, 'prevote', 0x02),
    validatorPower: 10,
    totalVotingPower: 10 * vals.keys.length,
    timeMs: EVIDENCE_TIME_MS,
  };
}

/** The block time evidence fixtures record. */
export const EVIDENCE_TIME_MS = 1_700_000_000_000;

export function makeTx(key: KeyPair, nonce: number, chainId = CHAIN_ID): { tx: Tx; bytes: Uint8Array } {
  const body = {
    chainId,
    sender: key.publicKey,
    nonce,
    fee: 10n,
    gasLimit: 100_000,
    msg: { kind: 'transfer' as const, to: new Uint8Array(20).fill(9), amount: 5n },
    memo: new Uint8Array(0),
  };
  const tx: Tx = { body, signature: sign(key, txSignBytes(chainId, body)) };
  return { tx, bytes: encodeTx(tx) };
}

/** The proposer of (height, round) in the tests: validator `round mod n` of the set (keyAt(round % n)). */
export function roundRobinProposer(vals: Validators): (height: number, round: number) => number {
  return (_height, round) => round % vals.keys.length;
}

export function validationContext(vals: Validators, height: () => number): ValidationContext {
  return {
    chainId: CHAIN_ID,
    currentHeight: height,
    validatorSetAt: () => vals.set,
    proposerIndex: roundRobinProposer(vals),
    // Evidence fixtures are at heights up to the current one, all with one block time.
    evidenceChain: () => ({
      height: height(),
      timeMs: EVIDENCE_TIME_MS,
      params: DEFAULT_CONSENSUS_PARAMS,
      blockTimeAt: () => EVIDENCE_TIME_MS,
    }),
  };
}

/** A provider serving a fixed chain. */
export function chainProvider(chain: readonly BlockWithCommit[]): RequestProvider {
  const byHash = new Map(chain.map((c) => [Buffer.from(blockHash(c.block)).toString('hex'), c.block]));
  return {
    status: () => {
      const last = chain[chain.length - 1];
      return {
        height: chain.length,
        earliestHeight: chain.length === 0 ? 0 : 1,
        lastBlockHash: last === undefined ? ZERO_HASH : blockHash(last.block),
      };
    },
    blockByHash: (hash) => byHash.get(Buffer.from(hash).toString('hex')),
    encodedBlockWithCommit: (height) => {
      const item = chain[height - 1];
      return item === undefined
        ? undefined
        : { block: encodeBlock(item.block), commit: encodeCommit(item.commit) };
    },
    // the liveness protocol: a height of the chain is decided; nothing is held for the others
    consensus: ({ height }) => {
      const item = chain[height - 1];
      return item === undefined ? { proposals: [], votes: [] } : { proposals: [], votes: [], decided: item };
    },
  };
}

/** Polls `cond` until it holds or the deadline passes (then throws with `what`). */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const loopbackOnly = (address: string): boolean => address.startsWith('/ip4/127.0.0.1/');

/** Options for a test node listening on 127.0.0.1 (fast timers, loopback-only dials). */
export function testNodeOptions(
  i: number,
  vals: Validators,
  overrides: Partial<NetworkOptions> = {},
): NetworkOptions {
  const { peerManager, ...rest } = overrides;
  return {
    chainId: CHAIN_ID,
    nodeKey: { seed: seed(200, i) },
    listen: ['/ip4/127.0.0.1/tcp/0'],
    dialFilter: loopbackOnly,
    validation: validationContext(vals, () => 1),
    peerManager: {
      reconnect: { initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0.2 },
      maintenanceIntervalMs: 200,
      pexIntervalMs: 2_000,
      pingIntervalMs: 1_000,
      // generous: CI runs every package's tests at once on 2 cores
      pingTimeoutMs: 5_000,
      dialTimeoutMs: 10_000,
      // the tests run on 127.0.0.1: peer exchange must share and dial loopback addresses
      allowPrivateAddresses: true,
      ...peerManager,
    },
    mesh: { heartbeatIntervalMs: 200 },
    ...rest,
  };
}

/** Starts `count` test nodes; node keys are numbered from `firstIndex` (distinct indices, distinct peer ids). */
export async function startNodes(
  count: number,
  vals: Validators,
  overrides: (i: number) => Partial<NetworkOptions> = () => ({}),
  firstIndex = 0,
): Promise<Network[]> {
  const nodes = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      createNetwork(testNodeOptions(firstIndex + i, vals, overrides(i))),
    ),
  );
  await Promise.all(nodes.map((n) => n.start()));
  return nodes;
}

/** Dials every pair once (i dials j for j < i). */
export async function connectAll(nodes: readonly Network[]): Promise<void> {
  const dials: Promise<void>[] = [];
  for (let i = 0; i < nodes.length; i++) {
    for (let j = 0; j < i; j++) {
      const addr = nodes[j]?.addresses()[0];
      if (addr !== undefined) dials.push(nodes[i]?.dial(addr) ?? Promise.resolve());
    }
  }
  await Promise.all(dials);
}

export async function stopAll(nodes: readonly (Network | undefined)[]): Promise<void> {
  await Promise.all(nodes.map((n) => n?.stop()));
}

/** Metrics that remember counter totals (by name and labels) so tests can read them. */
export class RecordingMetrics implements Metrics {
  readonly counters = new Map<string, number>();

  private key(name: string, labels?: Labels): string {
    const parts = Object.entries(labels ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`);
    return `${name}{${parts.join(',')}}`;
  }

  counter(opts: { name: string }) {
    return {
      inc: (labels?: Labels, value = 1): void => {
        const k = this.key(opts.name, labels);
        this.counters.set(k, (this.counters.get(k) ?? 0) + value);
      },
    };
  }

  gauge() {
    return { set: () => {}, inc: () => {}, dec: () => {} };
  }

  histogram() {
    return { observe: () => {} };
  }

  /** Sum of a counter over every label set that includes `labels`. */
  total(name: string, labels: Record<string, string> = {}): number {
    let sum = 0;
    for (const [k, v] of this.counters) {
      if (!k.startsWith(`${name}{`)) continue;
      if (Object.entries(labels).every(([lk, lv]) => k.includes(`${lk}=${lv}`))) sum += v;
    }
    return sum;
  }
}

/**
 * A libp2p peer outside the project that speaks gossipsub but validates
 * nothing: it publishes whatever it is given (loopback dials only).
 */
export async function rawGossipPeer(): Promise<Libp2p<{ pubsub: GossipSub }>> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: (a) => !loopbackOnly(a.toString()) },
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
