import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

/** The README example, verbatim (between the markers); the test checks README.md contains it. */
async function example(log: (line: unknown) => void): Promise<void> {
  // README:begin
  const { addressFromPublicKey, keyPairFromSeed, sign } = await import('@synod/crypto');
  const { makeValidatorSet, voteSignBytes } = await import('@synod/types');
  const { createNetwork } = await import('@synod/p2p');

  const chainId = 'synod-example';
  const validator = keyPairFromSeed(new Uint8Array(32).fill(1));
  const address = addressFromPublicKey(validator.publicKey);
  const set = makeValidatorSet([
    { address, pubKey: validator.publicKey, votingPower: 10, proposerPriority: 0n },
  ]);
  const validation = {
    chainId,
    currentHeight: () => 1,
    validatorSetAt: () => set,
    proposerIndex: () => 0, // the proposer of (height, round): here the only validator
  };

  // node keys (normally loadNodeKey(path) of @synod/crypto) give the peer ids
  const alice = await createNetwork({
    chainId,
    nodeKey: { seed: new Uint8Array(32).fill(2) },
    listen: ['/ip4/127.0.0.1/tcp/0'],
    validation,
  });
  await alice.start();
  const bob = await createNetwork({
    chainId,
    nodeKey: { seed: new Uint8Array(32).fill(3) },
    listen: ['/ip4/127.0.0.1/tcp/0'],
    persistentPeers: alice.addresses(),
    validation,
  });
  const received = new Promise<number>((resolve) => {
    bob.onVote(({ message, from }) => {
      log(`vote for height ${message.vote.height} from ${from === alice.peerId ? 'alice' : from}`);
      resolve(message.vote.height);
    });
  });
  await bob.start();
  // gossip reaches the peers subscribed to the topic: wait until bob is one
  while (!alice.meshPeers('votes').includes(bob.peerId)) await new Promise((r) => setTimeout(r, 10));

  const vote = {
    type: 'prevote' as const,
    height: 1,
    round: 0,
    blockHash: new Uint8Array(32).fill(0xab),
    validatorAddress: address,
  };
  await alice.publishVote({ vote, signature: sign(validator, voteSignBytes(chainId, vote)) });
  await received; // bob logs: vote for height 1 from alice
  await bob.stop();
  await alice.stop();
  // README:end
}

describe('README example', () => {
  it('runs, and the README shows exactly this code', async () => {
    const lines: unknown[] = [];
    await example((line) => lines.push(line));
    expect(lines).toEqual(['vote for height 1 from alice']);

    const source = await readFile(new URL(import.meta.url), 'utf8');
    const begin = source.indexOf('// README:begin\n');
    const end = source.indexOf('  // README:end');
    const body = source
      .slice(begin + '// README:begin\n'.length, end)
      .split('\n')
      .map((l) => l.replace(/^ {2}/, ''))
      .join('\n')
      .trimEnd();
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(body);
  });
});
