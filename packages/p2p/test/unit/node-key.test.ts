import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyPairFromSeed, saveNodeKey } from '@synod/crypto';
import { describe, expect, it } from 'vitest';
import { libp2pPrivateKey, loadNodeIdentity, peerIdOfNodeKey } from '../../src/node-key.js';
import { seed } from '../fixtures.js';

describe('node identity', () => {
  it('derives the same peer id from the same seed, another from another', async () => {
    const a = await peerIdOfNodeKey({ seed: seed(1, 1) });
    const b = await peerIdOfNodeKey({ seed: seed(1, 1) });
    const c = await peerIdOfNodeKey({ seed: seed(1, 2) });
    expect(a.toString()).toBe(b.toString());
    expect(a.toString()).not.toBe(c.toString());
    expect(a.toString()).toMatch(/^12D3KooW/);
  });

  it('uses the node key itself: the libp2p public key is the Ed25519 public key', async () => {
    const kp = keyPairFromSeed(seed(1, 3));
    const key = await libp2pPrivateKey(kp);
    expect(key.publicKey.raw).toEqual(kp.publicKey);
  });

  it('reads the node key file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'synod-p2p-'));
    try {
      const kp = keyPairFromSeed(seed(1, 4));
      await saveNodeKey(join(dir, 'node_key.json'), kp);
      const id = await loadNodeIdentity(join(dir, 'node_key.json'));
      expect(id.peerId).toBe((await peerIdOfNodeKey(kp)).toString());
      expect(id.nodeKey.publicKey).toEqual(kp.publicKey);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a seed of the wrong length', async () => {
    await expect(libp2pPrivateKey({ seed: new Uint8Array(31) })).rejects.toThrow(RangeError);
  });
});
