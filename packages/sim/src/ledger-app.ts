import { advanceValidatorSet, type FinalizeBlockResult } from '@synod/consensus';
import { addressFromPublicKey, bytesEqual, keyPairFromSeed, toHex } from '@synod/crypto';
import { type AddEvidenceResult, type EvidenceContext, EvidencePool } from '@synod/fault-detector';
import { type InitChainRequest, JAIL_FOREVER, Ledger, ledgerAppState, POWER_REDUCTION } from '@synod/ledger';
import { createMemoryKvStore, type KvStore } from '@synod/storage';
import {
  type Block,
  blockDataProblem,
  blockHash,
  blockTxBytesBudget,
  type Commit,
  commitHash,
  commitProblem,
  consensusParamsHash,
  decodeTx,
  type Evidence,
  encodeBlock,
  encodeTx,
  evidenceListHash,
  finalizeRequestFromBlock,
  LIMITS,
  misbehaviorFromBlock,
  resultsHash,
  type TxBody,
  txSignBytes,
  txsRoot,
  type Validator,
  type ValidatorSet,
  validatorIndex,
  validatorSetHash,
  ZERO_HASH,
} from '@synod/types';
import type {
  SimAppGenesis,
  SimApplication,
  SimApplicationFactory,
  SimAppStorage,
  SimEvidencePool,
  SimPunishment,
  SimSlashing,
  SimValidatorStatus,
} from './app.js';
import { Rng } from './rng.js';
import { SignatureOracle } from './signatures.js';

/** Accounts funded at genesis; proposers move money between them. */
export const SIM_ACCOUNTS = 8;
const ACCOUNT_BALANCE = 1_000_000_000_000n;
/** The ledger's minimum fee in the simulated chain (every generated transfer pays exactly this). */
export const SIM_MIN_FEE = 10n;
/** Gas limit of a generated transfer (a transfer needs about 4,000: 2,000 + 10 per byte). */
const TX_GAS_LIMIT = 10_000;
/** Transfers a proposer puts in a block: 1 to this many (from distinct senders). */
const TXS_PER_BLOCK_MAX = 4;

/**
 * What all nodes of one simulation share (they live in one process): the
 * genesis accounts and their keys, the signed transfers (one per sender and
 * nonce, made once), and one cache of verified transaction signatures, as
 * the simulator's `SignatureOracle` does for consensus signatures: a
 * signature this process made is valid by construction; anything else is
 * verified with Ed25519 once per simulation, not once per node.
 */
class SharedChain {
  readonly accounts: readonly { readonly seed: Uint8Array; readonly publicKey: Uint8Array }[];
  readonly addresses: readonly Uint8Array[];
  readonly txSignatures = new SignatureOracle('ed25519');
  readonly init: InitChainRequest;
  /** Validator public key by address (hex), for every genesis validator. */
  readonly pubKeys = new Map<string, Uint8Array>();
  readonly #transfers = new Map<string, Uint8Array>();
  readonly #genesis: SimAppGenesis;

  constructor(genesis: SimAppGenesis) {
    this.#genesis = genesis;
    const rng = new Rng((genesis.seed ^ 0x5eed1ed9) >>> 0);
    this.accounts = Array.from({ length: SIM_ACCOUNTS }, () => {
      const kp = keyPairFromSeed(rng.bytes(32));
      return { seed: kp.seed, publicKey: kp.publicKey };
    });
    this.addresses = this.accounts.map((a) => addressFromPublicKey(a.publicKey));
    for (const v of genesis.validatorSet.validators) this.pubKeys.set(toHex(v.address), v.pubKey);
    this.init = {
      chainId: genesis.chainId,
      genesisTimeMs: genesis.genesisTimeMs,
      initialHeight: 1,
      consensusParams: genesis.params,
      validators: genesis.validatorSet.validators.map((v) => ({ pubKey: v.pubKey, power: v.votingPower })),
      appState: ledgerAppState({
        minFee: SIM_MIN_FEE,
        accounts: this.addresses.map((address) => ({ address, balance: ACCOUNT_BALANCE })),
        // Self-bonded validators: power × POWER_REDUCTION of stake gives the scenario's powers.
        validators: genesis.validatorSet.validators.map((v) => ({
          pubKey: v.pubKey,
          stake: BigInt(v.votingPower) * POWER_REDUCTION,
        })),
      }),
    };
  }

  /**
   * The transfer account `sender` signs at `nonce`: recipient and amount come
   * from the seed, so every proposer of every round builds the same bytes.
   */
  transfer(sender: number, nonce: number): Uint8Array {
    const key = `${sender}/${nonce}`;
    const known = this.#transfers.get(key);
    if (known !== undefined) return known;
    const rng = new Rng(
      (this.#genesis.seed ^ Math.imul(sender + 1, 0x9e3779b1) ^ Math.imul(nonce, 0x85ebca6b)) >>> 0,
    );
    const a = this.accounts[sender] as { readonly seed: Uint8Array; readonly publicKey: Uint8Array };
    const to = (sender + rng.int(1, SIM_ACCOUNTS - 1)) % SIM_ACCOUNTS;
    const body: TxBody = {
      chainId: this.#genesis.chainId,
      sender: a.publicKey,
      nonce,
      fee: SIM_MIN_FEE,
      gasLimit: TX_GAS_LIMIT,
      msg: { kind: 'transfer', to: this.addresses[to] as Uint8Array, amount: BigInt(rng.int(1, 1_000_000)) },
      memo: new Uint8Array(0),
    };
    const signature = this.txSignatures.sign(a.seed, a.publicKey, txSignBytes(body.chainId, body));
    const tx = encodeTx({ body, signature });
    this.#transfers.set(key, tx);
    return tx;
  }
}

const shared = new WeakMap<SimAppGenesis, SharedChain>();

function sharedChain(genesis: SimAppGenesis): SharedChain {
  let s = shared.get(genesis);
  if (s === undefined) {
    s = new SharedChain(genesis);
    shared.set(genesis, s);
  }
  return s;
}

/**
 * What a node keeps besides the ledger's own state, as a node's state store
 * does: for every height, its validator set (with proposer priorities), block
 * time and evidence, and the hashes the next header must carry. Only ever
 * appended to, in the same synchronous step as the ledger's commit.
 */
interface ChainRecord {
  /** Last finalized height. */
  height: number;
  lastBlockHash: Uint8Array;
  /** Results hash of the last finalized block (the next header's lastResultsHash). */
  lastResultsHash: Uint8Array;
  /** The ledger's app hash after the last finalized block. */
  appHash: Uint8Array;
  /** sets[h]: the validator set of height h, for 1 .. height + 2. */
  readonly sets: ValidatorSet[];
  /** times[h]: block time of height h (times[0]: genesis time). */
  readonly times: number[];
  /** evidence[h]: the evidence committed in block h. */
  readonly evidence: (readonly Evidence[])[];
}

/** A node's disk: the ledger's key-value store and the chain record. Both survive crashes. */
interface LedgerDisk {
  kv: KvStore | undefined;
  chain: ChainRecord | undefined;
}

/** Validator set hashes, once per set (sets are never changed once recorded). */
const setHashes = new WeakMap<ValidatorSet, Uint8Array>();

function setHash(set: ValidatorSet): Uint8Array {
  let h = setHashes.get(set);
  if (h === undefined) {
    h = validatorSetHash(set);
    setHashes.set(set, h);
  }
  return h;
}

/**
 * The real application: @synod/ledger over an in-memory key-value store
 * (@synod/storage's memory store), with a @synod/fault-detector evidence pool.
 *
 * - Genesis: the scenario's validators self-bonded (power × POWER_REDUCTION),
 *   SIM_ACCOUNTS accounts funded; the set `initChain` returns must be the
 *   scenario's.
 * - Blocks: a proposer puts 1–4 signed transfers between the genesis accounts
 *   (chosen from the seed, height and round; nonces from its committed state),
 *   filtered by the ledger's `prepareProposal`, and its pool's pending
 *   evidence up to `evidence.maxBytes`.
 * - validateBlock: the header (height, parent, time, validator and next
 *   validator hashes, params, app hash, results hash, proposer), the data
 *   hashes, the last commit against the previous height's set, the evidence
 *   (`EvidencePool.blockEvidenceProblem`: invalid, duplicate or already
 *   committed evidence, or more than `evidence.maxBytes`), and the
 *   transactions (`Ledger.processProposal`).
 * - finalizeBlock: the ledger executes the block (`finalizeRequestFromBlock`:
 *   the evidence as misbehaviour, who signed the last commit for downtime),
 *   commits, and its validator updates (decided at H) give the set of H + 2;
 *   the pool marks the block's evidence committed.
 * - A crash keeps the ledger's committed state and the chain record; the
 *   ledger's caches and the evidence pool are memory and are rebuilt (the
 *   pool's committed set from the recorded evidence of every height).
 *
 * Shortcuts: only transfers are generated (no bond, unbond or unjail), so the
 * validator set only ever shrinks and a jailed validator stays out; the chain
 * record is this object's, not @synod/storage's StateStore.
 */
export function createLedgerApp(): SimApplicationFactory {
  return {
    name: 'ledger',
    punishes: true,
    createNode(genesis: SimAppGenesis): SimAppStorage {
      const s = sharedChain(genesis);
      const disk: LedgerDisk = { kv: undefined, chain: undefined };
      return { open: () => LedgerSimApp.open(genesis, s, disk) };
    },
  };
}

class LedgerSimApp implements SimApplication {
  readonly #g: SimAppGenesis;
  readonly #s: SharedChain;
  readonly #ledger: Ledger;
  readonly #chain: ChainRecord;
  /** Drops evidence against validators its ledger has tombstoned (they cannot be punished again). */
  readonly #pool = new EvidencePool({ isTombstoned: (a) => this.#status(a)?.tombstoned === true });
  readonly #paramsHash: Uint8Array;
  #punishments: readonly SimPunishment[] = [];
  readonly evidence: SimEvidencePool;
  readonly slashing: SimSlashing;

  private constructor(genesis: SimAppGenesis, s: SharedChain, ledger: Ledger, chain: ChainRecord) {
    this.#g = genesis;
    this.#s = s;
    this.#ledger = ledger;
    this.#chain = chain;
    this.#paramsHash = consensusParamsHash(genesis.params);
    const pool = this.#pool;
    this.evidence = {
      add: (ev: Evidence): AddEvidenceResult => pool.add(ev, this.#context(this.#chain.height)),
      pending: () => pool.pending(Number.MAX_SAFE_INTEGER),
      get pendingCount() {
        return pool.pendingCount;
      },
    };
    this.slashing = {
      status: (address) => this.#status(address),
      lastPunishments: () => this.#punishments,
      punishedAt: async (height) => {
        const q = await ledger.query({ path: 'slashing/punished', data: new Uint8Array(0), height });
        return q.code === 'OK' ? new TextDecoder().decode(q.value) : `${q.code}: ${q.log}`;
      },
    };
  }

  static async open(genesis: SimAppGenesis, s: SharedChain, disk: LedgerDisk): Promise<LedgerSimApp> {
    disk.kv ??= await createMemoryKvStore();
    const ledger = await Ledger.open({
      kv: disk.kv,
      syncWrites: false,
      verifySignature: s.txSignatures.verify,
    });
    let chain = disk.chain;
    if (chain === undefined) {
      const res = await ledger.initChain(s.init);
      const problem = genesisSetProblem(genesis.validatorSet, res.validators ?? []);
      if (problem !== undefined) throw new Error(`ledger genesis: ${problem}`);
      const first = genesis.validatorSet;
      chain = {
        height: 0,
        lastBlockHash: ZERO_HASH,
        lastResultsHash: ZERO_HASH,
        appHash: res.appHash,
        // The set of height 2 is the genesis set advanced once (no changes take effect there).
        sets: [first, first, { validators: advanceValidatorSet(first.validators) }],
        times: [genesis.genesisTimeMs],
        evidence: [[]],
      };
      disk.chain = chain;
    }
    const app = new LedgerSimApp(genesis, s, ledger, chain);
    // The pool is memory: a new incarnation learns again which evidence the chain committed.
    for (let h = 1; h <= chain.height; h++) app.#pool.update(chain.evidence[h] ?? [], app.#context(h));
    return app;
  }

  /** The chain as the evidence pool sees it after block `height`. */
  #context(height: number): EvidenceContext {
    const c = this.#chain;
    const known = (h: number): boolean => Number.isSafeInteger(h) && h >= 1 && h <= height;
    return {
      chainId: this.#g.chainId,
      height,
      timeMs: c.times[height] as number,
      params: this.#g.params,
      validatorSetAt: (h) => (known(h) ? c.sets[h] : undefined),
      blockTimeAt: (h) => (known(h) ? c.times[h] : undefined),
      verifySignature: this.#g.verify,
    };
  }

  height(): number {
    return this.#chain.height;
  }

  validatorSetAt(height: number): ValidatorSet | undefined {
    return height >= 1 ? this.#chain.sets[height] : undefined;
  }

  stateHash(): Uint8Array {
    return this.#chain.appHash;
  }

  #status(address: Uint8Array): SimValidatorStatus | undefined {
    const pubKey = this.#s.pubKeys.get(toHex(address));
    const v = pubKey === undefined ? undefined : this.#ledger.validator(pubKey);
    if (v === undefined) return undefined;
    const r = this.#ledger.slashingRecord(address);
    return {
      bondedStake: v.bondedStake,
      jailed: v.jailed,
      jailedForever: v.jailed && v.jailedUntilMs >= JAIL_FOREVER,
      tombstoned: v.tombstoned,
      downtimeJails: r?.downtimeJails ?? 0,
      equivocations: r?.equivocations ?? 0,
      totalBurned: r?.totalBurned ?? 0n,
    };
  }

  #lastCommitProblem(block: Block): string | undefined {
    const h = block.header.height;
    const c = block.lastCommit;
    if (h === 1) return c.height === 0 && c.signatures.length === 0 ? undefined : 'first block has a commit';
    const set = this.#chain.sets[h - 1];
    if (set === undefined) return 'validator set of the last height unknown';
    const issue = commitProblem(this.#g.chainId, set, c, {
      verifySignature: this.#g.verify,
      height: h - 1,
      blockHash: this.#chain.lastBlockHash,
    });
    return issue === undefined ? undefined : `last commit: ${issue}`;
  }

  async blockProblem(block: Block): Promise<string | undefined> {
    const c = this.#chain;
    const hd = block.header;
    const h = c.height + 1;
    if (hd.chainId !== this.#g.chainId) return 'wrong chain';
    if (hd.height !== h) return `height ${hd.height}, expected ${h}`;
    if (!bytesEqual(hd.lastBlockHash, c.lastBlockHash)) return 'wrong parent hash';
    if (hd.timeMs <= (c.times[c.height] as number)) return 'time does not increase';
    const set = c.sets[h] as ValidatorSet;
    if (!bytesEqual(hd.validatorsHash, setHash(set))) return 'wrong validators hash';
    if (!bytesEqual(hd.nextValidatorsHash, setHash(c.sets[h + 1] as ValidatorSet)))
      return 'wrong next validators hash';
    if (!bytesEqual(hd.consensusParamsHash, this.#paramsHash)) return 'wrong consensus params hash';
    if (!bytesEqual(hd.appHash, c.appHash)) return 'wrong app hash';
    if (!bytesEqual(hd.lastResultsHash, c.lastResultsHash)) return 'wrong results hash';
    if (validatorIndex(set, hd.proposerAddress) < 0) return 'proposer is not a validator';
    if (block.txs.length > LIMITS.blockTxsMax) return 'too many transactions';
    if (block.evidence.length > LIMITS.blockEvidenceMax) return 'too many evidence items';
    const data = blockDataProblem(block);
    if (data !== undefined) return data;
    const size = encodeBlock(block).length;
    if (size > this.#g.params.block.maxBytes)
      return `block too large: ${size} bytes, above block.maxBytes (${this.#g.params.block.maxBytes})`;
    const commit = this.#lastCommitProblem(block);
    if (commit !== undefined) return commit;
    const evidence = this.#pool.blockEvidenceProblem(block.evidence, this.#context(c.height));
    if (evidence !== undefined) return evidence;
    const verdict = await this.#ledger.processProposal({
      height: h,
      timeMs: hd.timeMs,
      proposerAddress: hd.proposerAddress,
      hash: blockHash(block),
      txs: block.txs,
      misbehavior: misbehaviorFromBlock(block),
    });
    return verdict === 'accept' ? undefined : `transactions rejected (${verdict.reject})`;
  }

  async validateBlock(block: Block): Promise<boolean> {
    return (await this.blockProblem(block)) === undefined;
  }

  async buildBlock(request: {
    readonly height: number;
    readonly round: number;
    readonly proposerAddress: Uint8Array;
    readonly lastCommit: Commit;
    readonly timeMs: number;
  }): Promise<Block> {
    const c = this.#chain;
    const h = request.height;
    const params = this.#g.params;
    const timeMs = Math.max(request.timeMs, (c.times[c.height] as number) + 1);
    const rng = new Rng(
      (this.#g.seed ^ Math.imul(h, 0x9e3779b1) ^ Math.imul(request.round + 1, 0x85ebca6b)) >>> 0,
    );
    const senders = rng.shuffle([...Array(SIM_ACCOUNTS).keys()]).slice(0, rng.int(1, TXS_PER_BLOCK_MAX));
    const candidates = senders.map((i) =>
      this.#s.transfer(i, this.#ledger.account(this.#s.addresses[i] as Uint8Array).nonce),
    );
    const evidence = this.#pool.pending(params.evidence.maxBytes).slice(0, LIMITS.blockEvidenceMax);
    const header = {
      height: h,
      timeMs,
      proposerAddress: request.proposerAddress,
      lastCommit: request.lastCommit,
      appHash: c.appHash,
    };
    // As @synod/node's block executor: the byte budget counts the header, the
    // last commit and the evidence; the transactions get what is left (the
    // ledger's prepareProposal counts each one with its encoding overhead).
    const { txs } = await this.#ledger.prepareProposal({
      height: h,
      timeMs,
      proposerAddress: request.proposerAddress,
      maxBytes: blockTxBytesBudget(params.block.maxBytes, this.#assemble(header, [], evidence)),
      maxGas: params.block.maxGas,
      txs: candidates,
    });
    return this.#assemble(header, [...txs], evidence);
  }

  #assemble(
    h: {
      readonly height: number;
      readonly timeMs: number;
      readonly proposerAddress: Uint8Array;
      readonly lastCommit: Commit;
      readonly appHash: Uint8Array;
    },
    txs: readonly Uint8Array[],
    evidence: readonly Evidence[],
  ): Block {
    const c = this.#chain;
    return {
      header: {
        chainId: this.#g.chainId,
        height: h.height,
        timeMs: h.timeMs,
        lastBlockHash: c.lastBlockHash,
        txsRoot: txsRoot(txs),
        validatorsHash: setHash(c.sets[h.height] as ValidatorSet),
        nextValidatorsHash: setHash(c.sets[h.height + 1] as ValidatorSet),
        consensusParamsHash: this.#paramsHash,
        appHash: h.appHash,
        lastResultsHash: c.lastResultsHash,
        evidenceHash: evidenceListHash(evidence),
        lastCommitHash: commitHash(h.lastCommit),
        proposerAddress: h.proposerAddress,
      },
      txs,
      evidence,
      lastCommit: h.lastCommit,
    };
  }

  async finalizeBlock(block: Block, _commit: Commit): Promise<FinalizeBlockResult> {
    const c = this.#chain;
    const h = block.header.height;
    if (h !== c.height + 1) throw new Error(`finalize height ${h}, expected ${c.height + 1}`);
    const next = c.sets[h + 1] as ValidatorSet;
    // decidedLastCommit: who signed block h − 1, in the order of its validator set.
    const res = await this.#ledger.finalizeBlock(finalizeRequestFromBlock(block, c.sets[h - 1]));
    await this.#ledger.commit();
    const changes: Validator[] = res.validatorUpdates.map((u) => ({
      address: addressFromPublicKey(u.pubKey),
      pubKey: u.pubKey,
      votingPower: u.power,
      proposerPriority: 0n,
    }));
    // Updates decided at h take effect at h + 2 (the set of h + 1 is already fixed).
    const afterNext: ValidatorSet = { validators: advanceValidatorSet(next.validators, changes) };
    // The chain record, in one synchronous step after the ledger's commit.
    c.sets[h + 2] = afterNext;
    c.times[h] = block.header.timeMs;
    c.evidence[h] = block.evidence;
    c.height = h;
    c.lastBlockHash = blockHash(block);
    c.lastResultsHash = resultsHash(res.txResults);
    c.appHash = res.appHash;
    this.#punishments = this.#ledger.lastPunishments().map((e) => ({
      height: e.height,
      validator: e.validator,
      reason: e.reason,
      slashAmount: e.slashAmount,
      jailUntilMs: e.jailUntilMs,
      tombstoned: e.tombstoned,
      infractionHeight: e.infractionHeight,
    }));
    this.#pool.update(block.evidence, this.#context(h));
    return { nextValidatorSet: next };
  }

  /**
   * A block of the same height that validateBlock rejects, one of four ways
   * (chosen by the block's hash): a transfer with a broken signature, forged
   * evidence (signatures that do not verify), evidence the chain already
   * committed, or a wrong app hash in the header.
   */
  corrupt(block: Block): Block {
    const c = this.#chain;
    const h = block.header.height;
    const way = (blockHash(block)[0] as number) % 4;
    const committed = c.evidence.flat();
    const lastSet = c.sets[h - 1];
    if (way === 1 && h >= 2 && lastSet !== undefined) {
      const accused = lastSet.validators[(blockHash(block)[1] as number) % lastSet.validators.length];
      if (accused !== undefined) {
        const forged: Evidence = {
          kind: 'duplicate-vote',
          voteA: {
            vote: {
              type: 'prevote',
              height: h - 1,
              round: 0,
              blockHash: null,
              validatorAddress: accused.address,
            },
            signature: new Uint8Array(64).fill(1),
          },
          voteB: {
            vote: {
              type: 'prevote',
              height: h - 1,
              round: 0,
              blockHash: blockHash(block),
              validatorAddress: accused.address,
            },
            signature: new Uint8Array(64).fill(2),
          },
          validatorPower: accused.votingPower,
          totalVotingPower: lastSet.validators.reduce((a, v) => a + v.votingPower, 0),
          timeMs: c.times[h - 1] as number,
        };
        return this.#reassemble(block, block.txs, [...block.evidence, forged], block.header.appHash);
      }
    }
    if (way === 2 && committed.length > 0) {
      const again = committed[(blockHash(block)[1] as number) % committed.length] as Evidence;
      return this.#reassemble(block, block.txs, [...block.evidence, again], block.header.appHash);
    }
    if (way === 3) {
      const appHash = block.header.appHash.slice();
      appHash[0] = (appHash[0] as number) ^ 0xff;
      return this.#reassemble(block, block.txs, block.evidence, appHash);
    }
    // A transfer whose signature is broken: the ledger rejects it (TX_BAD_SIGNATURE).
    const sender = (blockHash(block)[1] as number) % SIM_ACCOUNTS;
    const good = decodeTx(
      this.#s.transfer(sender, this.#ledger.account(this.#s.addresses[sender] as Uint8Array).nonce + 1),
    );
    const signature = good.signature.slice();
    signature[0] = (signature[0] as number) ^ 0x01;
    const tx = encodeTx({ body: good.body, signature });
    return this.#reassemble(block, [...block.txs, tx], block.evidence, block.header.appHash);
  }

  withEvidence(block: Block, evidence: readonly Evidence[]): Block {
    return this.#reassemble(block, block.txs, evidence, block.header.appHash);
  }

  #reassemble(
    block: Block,
    txs: readonly Uint8Array[],
    evidence: readonly Evidence[],
    appHash: Uint8Array,
  ): Block {
    return {
      ...block,
      header: { ...block.header, txsRoot: txsRoot(txs), evidenceHash: evidenceListHash(evidence), appHash },
      txs,
      evidence,
    };
  }
}

/** Why the set `initChain` returned is not the scenario's genesis set (same keys, same powers). */
function genesisSetProblem(
  set: ValidatorSet,
  updates: readonly { readonly pubKey: Uint8Array; readonly power: number }[],
): string | undefined {
  if (updates.length !== set.validators.length)
    return `${updates.length} validators, expected ${set.validators.length}`;
  for (const u of updates) {
    const v = set.validators[validatorIndex(set, addressFromPublicKey(u.pubKey))];
    if (v === undefined || !bytesEqual(v.pubKey, u.pubKey)) return `unknown validator ${toHex(u.pubKey)}`;
    if (v.votingPower !== u.power)
      return `validator ${toHex(u.pubKey)} has power ${u.power}, expected ${v.votingPower}`;
  }
  return undefined;
}
