/**
 * The start handshake with the application (CometBFT's): bring the node's
 * chain state and the application to the block store's height.
 *
 * Per block the node writes the block (block store, by the engine), then
 * the chain state (`ChainState.record`), the application's commit, the
 * evidence and the RPC index in one atomic batch (`NodeStorage.writeGroup`);
 * block sync writes a whole range of blocks with all of their records in one
 * batch. So at a start, with A the application's height, S the chain
 * state's and B the block store's: A = S ≤ B (B − S is 1 after a crash
 * between the block and its batch, more when blocks were copied into the
 * store). Stores written by an earlier version, which wrote the chain
 * state and the application separately, may also have S − A = 1. The handshake
 *
 * 1. runs initChain and records the genesis chain state for a new node;
 * 2. re-executes block S in the application when it is one behind (its
 *    app hash must equal the one recorded);
 * 3. executes blocks S + 1 .. B (the application and the chain state), each
 *    header's app hash checked against the state it builds on.
 *
 * Anything else (the application ahead, a gap, a hash that differs) is
 * STORAGE_CORRUPT: the node does not start on diverged state.
 */
import { toHex } from '@synod/crypto';
import type { NodeStorage } from '@synod/storage';
import {
  type Application,
  type Block,
  bytesEqual,
  type FinalizeBlockResponse,
  finalizeRequestFromBlock,
  type Genesis,
  type InitChainRequest,
  type Logger,
  SynodError,
} from '@synod/types';
import { executeBlock } from './block-executor.js';
import { ChainState } from './chain-state.js';

export interface HandshakeResult {
  readonly chain: ChainState;
  /** Blocks executed again by the application. */
  readonly replayed: number;
  /** True when this start ran initChain (a new node). */
  readonly initialized: boolean;
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

function corrupt(message: string, details?: Record<string, unknown>): SynodError {
  return new SynodError('STORAGE_CORRUPT', `handshake: ${message}`, details === undefined ? {} : { details });
}

export async function handshake(options: {
  readonly application: Application;
  readonly storage: NodeStorage;
  readonly genesis: Genesis;
  readonly blockTimesCacheHeights: number;
  readonly logger: Logger;
  /** Asked before each block of the replay (step 3): true ends the replay there (the node is stopping). */
  readonly shouldStop?: () => boolean;
  /**
   * Called for every block executed by the replay (step 3), e.g. to mark its
   * evidence committed; what it writes goes into the block's one atomic batch
   * with the chain state and the application's state.
   */
  readonly onReplayed?: (height: number, block: Block, response: FinalizeBlockResponse) => Promise<void>;
}): Promise<HandshakeResult> {
  const { application: app, storage, genesis, logger } = options;
  const log = logger.child({ module: 'handshake' });
  let info = await app.info();
  let chain = await ChainState.load(storage, genesis, options.blockTimesCacheHeights);
  let initialized = false;
  if (chain === undefined) {
    if (info.lastBlockHeight !== 0 || info.lastBlockAppHash.length !== 0)
      throw corrupt('the application has state but the node has no chain state', {
        appHeight: info.lastBlockHeight,
      });
    const res = await app.initChain(initChainRequestFromGenesis(genesis));
    chain = await ChainState.initialize(storage, genesis, options.blockTimesCacheHeights, res);
    info = await app.info();
    initialized = true;
    log.info('ran initChain', { appHash: toHex(res.appHash) });
  }
  const appHeight = info.lastBlockHeight;
  const stateHeight = chain.height;
  const storeHeight = storage.blocks.height();
  if (appHeight > stateHeight || stateHeight - appHeight > 1 || stateHeight > storeHeight)
    throw corrupt(
      `application ${appHeight}, chain state ${stateHeight}, block store ${storeHeight}: out of step`,
      {
        appHeight,
        stateHeight,
        storeHeight,
      },
    );
  let replayed = 0;
  if (appHeight < stateHeight) {
    // Step 2: the chain state recorded block S, the application did not commit it.
    const block = await storage.blocks.loadBlock(stateHeight);
    if (block === undefined) throw corrupt(`block ${stateHeight} is missing from the block store`);
    if (!bytesEqual(block.header.appHash, info.lastBlockAppHash))
      throw corrupt(`the application's hash differs from block ${stateHeight}'s`);
    const last = stateHeight > 1 ? await chain.loadSetAt(stateHeight - 1) : undefined;
    const res = await app.finalizeBlock(finalizeRequestFromBlock(block, last));
    if (!bytesEqual(res.appHash, chain.snapshot.appHash))
      throw corrupt(`re-executing block ${stateHeight} gave another app hash`, {
        recorded: toHex(chain.snapshot.appHash),
        got: toHex(res.appHash),
      });
    await app.commit();
    replayed++;
  } else if (!bytesEqual(info.lastBlockAppHash, chain.snapshot.appHash)) {
    throw corrupt(`the application's hash at height ${appHeight} differs from the recorded one`);
  }
  // Step 3: blocks saved but not executed.
  for (let h = chain.height + 1; h <= storeHeight; h++) {
    if (options.shouldStop?.() === true) break;
    const block = await storage.blocks.loadBlock(h);
    if (block === undefined) throw corrupt(`block ${h} is missing from the block store`);
    if (!bytesEqual(block.header.appHash, chain.snapshot.appHash))
      throw corrupt(`block ${h}'s app hash differs from the state it builds on`);
    await storage.writeGroup(async () => {
      const response = await executeBlock(app, chain, block);
      await options.onReplayed?.(h, block, response);
    });
    replayed++;
  }
  if (replayed > 0) log.info('replayed blocks', { replayed, ...chain.describe() });
  return { chain, replayed, initialized };
}
