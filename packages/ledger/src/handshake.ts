import { toHex } from '@synod/crypto';
import { countsAsSigned } from '@synod/fault-detector';
import {
  type Application,
  type Block,
  blockHash,
  type CommitInfo,
  evidenceHeight,
  evidenceValidator,
  type FinalizeBlockRequest,
  type Genesis,
  type InitChainRequest,
  type InitChainResponse,
  type Logger,
  type Misbehavior,
  noopLogger,
  SynodError,
  type ValidatorSet,
} from '@synod/types';
import { equalBytes } from './bytes.js';

/** What the handshake needs from the block store (@synod/storage's `BlockStore` fits). */
export interface BlockStoreReader {
  /** Height of the last stored block (0 when empty). */
  height(): number | Promise<number>;
  loadBlock(height: number): Promise<Block | undefined>;
}

/** The InitChain request of a genesis. */
export function initChainRequestFromGenesis(genesis: Genesis): InitChainRequest {
  return {
    chainId: genesis.chainId,
    genesisTimeMs: genesis.genesisTimeMs,
    initialHeight: genesis.initialHeight,
    consensusParams: genesis.consensusParams,
    validators: genesis.validators.map((v) => ({ pubKey: v.pubKey, power: v.power })),
    appState: genesis.appState,
  };
}

/** Misbehaviour to punish, from a block's committed evidence. */
export function misbehaviorFromBlock(block: Block): Misbehavior[] {
  return block.evidence.map((e) => ({
    kind: e.kind,
    validatorAddress: evidenceValidator(e),
    height: evidenceHeight(e),
    timeMs: e.timeMs,
    validatorPower: e.validatorPower,
    totalVotingPower: e.totalVotingPower,
  }));
}

/**
 * Who signed the previous block, from `block.lastCommit` and the validator set
 * that signed it (signatures are in validator-set order): a nil precommit
 * counts as signed, only an absent one is a miss (fault-detector's
 * `countsAsSigned`). Without that set the vote list is empty.
 */
export function commitInfoFromBlock(block: Block, lastValidators?: ValidatorSet): CommitInfo {
  if (lastValidators === undefined) return { round: block.lastCommit.round, votes: [] };
  return {
    round: block.lastCommit.round,
    votes: lastValidators.validators.map((v, i) => ({
      validatorAddress: v.address,
      power: v.votingPower,
      signed: countsAsSigned(block.lastCommit.signatures[i]),
    })),
  };
}

/** The FinalizeBlock request the node sends for a stored block. */
export function finalizeRequestFromBlock(block: Block, lastValidators?: ValidatorSet): FinalizeBlockRequest {
  return {
    height: block.header.height,
    timeMs: block.header.timeMs,
    hash: blockHash(block),
    proposerAddress: block.header.proposerAddress,
    txs: block.txs,
    misbehavior: misbehaviorFromBlock(block),
    decidedLastCommit: commitInfoFromBlock(block, lastValidators),
  };
}

export interface HandshakeOptions {
  readonly app: Application;
  readonly blockStore: BlockStoreReader;
  readonly genesis: Genesis;
  /**
   * Builds the FinalizeBlock request of a stored block. Default:
   * `finalizeRequestFromBlock(block)` (no signer list in decidedLastCommit); a
   * node passes one that looks up the validator set of `height - 1`.
   */
  readonly toFinalizeRequest?: (block: Block) => FinalizeBlockRequest | Promise<FinalizeBlockRequest>;
  readonly logger?: Logger;
}

export interface HandshakeResult {
  /** The app's height after the handshake (= the block store's height). */
  readonly appHeight: number;
  readonly appHash: Uint8Array;
  /** How many stored blocks were replayed through finalizeBlock + commit. */
  readonly replayed: number;
  /** The InitChain response when the app was empty and the handshake ran InitChain. */
  readonly initChain?: InitChainResponse;
}

function mismatch(what: string, height: number, expected: Uint8Array, got: Uint8Array): SynodError {
  return new SynodError('STORAGE_CORRUPT', `handshake: ${what} at height ${height}: app hash mismatch`, {
    details: { height, expected: toHex(expected), got: toHex(got) },
  });
}

/**
 * The restart handshake (as CometBFT's): asks the app where it is, runs
 * InitChain if it has no state, then replays every block the block store has
 * beyond the app's height through finalizeBlock + commit. Each stored header
 * carries the app hash after the previous block, so the app's hash is checked
 * before every replayed block and after the last one when the next header is
 * stored. Throws STORAGE_CORRUPT when the app is ahead of the block store or a
 * hash does not match (the app's state diverged: do not start).
 */
export async function handshake(opts: HandshakeOptions): Promise<HandshakeResult> {
  const log = (opts.logger ?? noopLogger).child({ module: 'handshake' });
  const { app, blockStore, genesis } = opts;
  const toRequest = opts.toFinalizeRequest ?? ((b: Block) => finalizeRequestFromBlock(b));
  let info = await app.info();
  let initChain: InitChainResponse | undefined;
  if (info.lastBlockHeight === 0 && info.lastBlockAppHash.length === 0) {
    initChain = await app.initChain(initChainRequestFromGenesis(genesis));
    info = await app.info();
    log.info('ran initChain', { appHash: toHex(info.lastBlockAppHash) });
  }
  const storeHeight = await blockStore.height();
  let height = info.lastBlockHeight;
  let appHash = info.lastBlockAppHash;
  if (height > storeHeight) {
    throw new SynodError(
      'STORAGE_CORRUPT',
      `handshake: app height ${height} is ahead of the block store (${storeHeight})`,
      {
        details: { appHeight: height, storeHeight },
      },
    );
  }
  const first = height === 0 ? genesis.initialHeight : height + 1;
  let replayed = 0;
  if (first <= storeHeight) log.info('replaying blocks', { from: first, to: storeHeight });
  for (let h = first; h <= storeHeight; h++) {
    const block = await blockStore.loadBlock(h);
    if (block === undefined) {
      throw new SynodError('STORAGE_NOT_FOUND', `handshake: block ${h} is missing from the block store`);
    }
    if (block.header.height !== h) {
      throw new SynodError(
        'STORAGE_CORRUPT',
        `handshake: stored block ${h} has height ${block.header.height}`,
      );
    }
    if (!equalBytes(block.header.appHash, appHash))
      throw mismatch('before replaying the block', h, block.header.appHash, appHash);
    const res = await app.finalizeBlock(await toRequest(block));
    await app.commit();
    appHash = res.appHash;
    height = h;
    replayed++;
  }
  if (replayed > 0) {
    const next = await blockStore.loadBlock(height + 1);
    if (next !== undefined && !equalBytes(next.header.appHash, appHash)) {
      throw mismatch('after the last replayed block', height, next.header.appHash, appHash);
    }
    log.info('replay done', { height, replayed, appHash: toHex(appHash) });
  }
  return initChain === undefined
    ? { appHeight: height, appHash, replayed }
    : { appHeight: height, appHash, replayed, initChain };
}
