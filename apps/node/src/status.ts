/**
 * The `status` RPC result in CometBFT 0.38's shape: `node_info`,
 * `sync_info` (latest and earliest block, `catching_up`) and
 * `validator_info`. Heights and powers are decimal strings, hashes
 * upper-case hex, times RFC 3339, as CometBFT writes them.
 */
import { addressFromPublicKey, toHex } from '@synod/crypto';
import { LEDGER_APP_VERSION } from '@synod/ledger';
import type { SynodNode } from '@synod/node';
import { WIRE_VERSION } from '@synod/p2p';
import type { NodeStorage } from '@synod/storage';
import { blockHash } from '@synod/types';
import { PUB_KEY_TYPE } from './genesis.js';

export interface NodeIdentity {
  readonly peerId: string;
  readonly moniker: string;
  readonly listenAddr: string;
  readonly rpcAddress: string;
  readonly version: string;
  /** The validator key's public key (every node has one; a follower's is not in the set). */
  readonly validatorPubKey: Uint8Array;
}

const hex = (b: Uint8Array): string => toHex(b).toUpperCase();
const time = (ms: number): string => new Date(ms).toISOString();

export async function statusResult(
  node: SynodNode,
  storage: NodeStorage,
  id: NodeIdentity,
): Promise<unknown> {
  const s = node.status();
  const base = Math.max(1, storage.blocks.base());
  const earliest = s.height >= base ? await storage.blocks.loadBlock(base) : undefined;
  // The app hash after the earliest block is the next header's.
  const afterEarliest = s.height > base ? await storage.blocks.loadHeader(base + 1) : undefined;
  const address = addressFromPublicKey(id.validatorPubKey);
  const set = s.state === 'stopped' ? undefined : await storage.state.loadValidatorSet(s.height + 1);
  const me = set?.validators.find((v) => toHex(v.address) === toHex(address));
  return {
    node_info: {
      protocol_version: { p2p: String(WIRE_VERSION), block: '1', app: LEDGER_APP_VERSION },
      id: id.peerId,
      listen_addr: id.listenAddr,
      network: s.chainId,
      version: id.version,
      channels: '',
      moniker: id.moniker,
      other: { tx_index: 'off', rpc_address: id.rpcAddress },
    },
    sync_info: {
      latest_block_hash: s.height === 0 ? '' : s.lastBlockHash.toUpperCase(),
      latest_app_hash: s.appHash.toUpperCase(),
      latest_block_height: String(s.height),
      latest_block_time: time(s.lastBlockTimeMs),
      earliest_block_hash: earliest === undefined ? '' : hex(blockHash(earliest)),
      earliest_app_hash:
        afterEarliest !== undefined
          ? hex(afterEarliest.appHash)
          : earliest === undefined
            ? ''
            : s.appHash.toUpperCase(),
      earliest_block_height: earliest === undefined ? '0' : String(base),
      earliest_block_time: earliest === undefined ? time(s.lastBlockTimeMs) : time(earliest.header.timeMs),
      catching_up: s.state === 'syncing' || s.state === 'starting',
    },
    validator_info: {
      address: hex(address),
      pub_key: { type: PUB_KEY_TYPE, value: Buffer.from(id.validatorPubKey).toString('base64') },
      voting_power: String(me?.votingPower ?? 0),
    },
  };
}
