/**
 * `synodd init --home DIR --chain-id ID [--moniker NAME]`: a new home for a
 * single-validator chain (this node's validator key, power 10), ready for
 * `synodd start`. Refuses to touch a folder that already holds a node.
 */
import { hostname } from 'node:os';
import { generateKeyPair } from '@synod/crypto';
import { ledgerAppState, POWER_REDUCTION } from '@synod/ledger';
import {
  DEFAULT_CONSENSUS_PARAMS,
  type Genesis,
  type GenesisValidator,
  isValidChainId,
  SynodError,
} from '@synod/types';
import { defaultConfig } from '../config/template.js';
import { checkGenesisApp, type GenesisDoc, genesisToDoc } from '../genesis.js';
import { assertFreshHome, writeHome } from '../home-files.js';

/** Voting power of each validator that init and testnet write. */
export const GENESIS_POWER = 10;

export function checkChainId(chainId: string): void {
  if (!isValidChainId(chainId))
    throw new SynodError(
      'CONFIG_INVALID',
      `--chain-id ${JSON.stringify(chainId)}: expected 1-50 characters of [a-zA-Z0-9._-], starting with a letter or digit`,
    );
}

export function checkMoniker(moniker: string): void {
  if (!/^[\x20-\x7e]{1,64}$/.test(moniker))
    throw new SynodError(
      'CONFIG_INVALID',
      `--moniker ${JSON.stringify(moniker)}: expected 1 to 64 printable ASCII characters`,
    );
}

/** A genesis (and its document, app hash included) with these validators and funded accounts. */
export async function buildGenesis(input: {
  readonly chainId: string;
  readonly genesisTimeMs: number;
  readonly validators: readonly GenesisValidator[];
  readonly accounts: readonly { readonly address: Uint8Array; readonly balance: bigint }[];
}): Promise<{ genesis: Genesis; doc: GenesisDoc }> {
  const genesis: Genesis = {
    chainId: input.chainId,
    genesisTimeMs: input.genesisTimeMs,
    initialHeight: 1,
    consensusParams: DEFAULT_CONSENSUS_PARAMS,
    validators: input.validators,
    appState: ledgerAppState({
      accounts: input.accounts,
      validators: input.validators.map((v) => ({
        pubKey: v.pubKey,
        stake: BigInt(v.power) * POWER_REDUCTION,
      })),
    }),
  };
  const appHash = await checkGenesisApp(genesis, '');
  return { genesis, doc: genesisToDoc(genesis, appHash) };
}

export interface InitOptions {
  readonly home: string;
  readonly chainId: string;
  readonly moniker?: string;
}

export async function init(options: InitOptions): Promise<{ validatorAddress: string }> {
  const moniker = options.moniker ?? hostname().slice(0, 64);
  checkChainId(options.chainId);
  checkMoniker(moniker);
  await assertFreshHome(options.home);
  const validatorKey = generateKeyPair();
  const nodeKey = generateKeyPair();
  const { doc } = await buildGenesis({
    chainId: options.chainId,
    genesisTimeMs: Date.now(),
    validators: [{ name: moniker, pubKey: validatorKey.publicKey, power: GENESIS_POWER }],
    accounts: [],
  });
  await writeHome({
    home: options.home,
    config: defaultConfig(moniker),
    genesis: doc,
    nodeKey,
    validatorKey,
  });
  return { validatorAddress: doc.validators[0]?.address ?? '' };
}
