import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { type KeyPair, loadNodeKey } from '@synod/crypto';

/**
 * The node key: the Ed25519 key that identifies a node on the network (its
 * libp2p peer id, authenticated by Noise). It is not a validator key: the two
 * are separate files and a validator's signing key never touches the network.
 */
export type NodeKey = Pick<KeyPair, 'seed'>;

/** The libp2p private key of a node key (same seed, same key). */
export async function libp2pPrivateKey(nodeKey: NodeKey): Promise<Ed25519PrivateKey> {
  if (!(nodeKey.seed instanceof Uint8Array) || nodeKey.seed.length !== 32) {
    throw new RangeError('node key: the seed must be 32 bytes');
  }
  return generateKeyPairFromSeed('Ed25519', nodeKey.seed);
}

/** The peer id (`12D3KooW…`) of a node key. */
export async function peerIdOfNodeKey(nodeKey: NodeKey): Promise<PeerId> {
  return peerIdFromPrivateKey(await libp2pPrivateKey(nodeKey));
}

/** Reads a node key file (see @synod/crypto's key files) and returns the key and its peer id. */
export async function loadNodeIdentity(path: string): Promise<{ nodeKey: KeyPair; peerId: string }> {
  const nodeKey = await loadNodeKey(path);
  return { nodeKey, peerId: (await peerIdOfNodeKey(nodeKey)).toString() };
}
