import type { Block, ValidatorSet } from '@synod/types';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createNetwork,
  type EncodedBlockWithCommit,
  type Network,
  type RequestProvider,
} from '../../src/index.js';
import {
  chainProvider,
  makeChain,
  makeValidators,
  RecordingMetrics,
  startNodes,
  stopAll,
  testNodeOptions,
  waitFor,
} from '../fixtures.js';

const vals = makeValidators(4);
const validatorSetAt = (): ValidatorSet => vals.set;

describe('peer exchange and the peer limit', () => {
  let nodes: Network[] = [];

  afterAll(async () => {
    await stopAll(nodes);
  });

  it('a node that knows one bootstrap peer learns and dials the peers of its peers', async () => {
    nodes = await startNodes(2, vals);
    const [a, b] = nodes;
    if (a === undefined || b === undefined) throw new Error('setup');
    await b.dial(a.addresses()[0] ?? '');
    await waitFor(() => a.connectedPeers().includes(b.peerId), 'A and B are connected');
    // C only knows B
    const [c] = await startNodes(1, vals, () => ({ bootstrapPeers: [b.addresses()[0] ?? ''] }), 2);
    if (c === undefined) throw new Error('setup');
    nodes.push(c);
    await waitFor(() => c.connectedPeers().includes(a.peerId), 'C connects to A, learned from B');
    expect(c.peers().find((p) => p.id === a.peerId)?.kind).toBe('discovered');
    expect(c.peers().find((p) => p.id === b.peerId)?.kind).toBe('bootstrap');
  });

  it('a node at its peer limit remembers discovered peers without dialling them, and refuses extra inbound peers', async () => {
    const [a, b] = nodes;
    if (a === undefined || b === undefined) throw new Error('setup');
    const metrics = new RecordingMetrics();
    const [d] = await startNodes(
      1,
      vals,
      () => ({
        bootstrapPeers: [b.addresses()[0] ?? ''],
        peerManager: {
          maxPeers: 1,
          maintenanceIntervalMs: 100,
          reconnect: { initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0 },
        },
        metrics,
      }),
      3,
    );
    if (d === undefined) throw new Error('setup');
    nodes.push(d);
    await waitFor(
      () => d.peers().filter((p) => p.kind === 'discovered').length >= 2,
      'D learns A and C from B',
    );
    expect(d.connectedPeers()).toEqual([b.peerId]);
    expect(metrics.total('synod_p2p_dials_total', { kind: 'discovered' })).toBe(0);
    // an inbound peer beyond the limit is closed
    await a.dial(d.addresses()[0] ?? '').catch(() => {});
    await waitFor(() => !a.connectedPeers().includes(d.peerId), 'D closes the extra connection from A');
    expect(d.connectedPeers()).toEqual([b.peerId]);
  });
});

describe('delinquent peers', () => {
  let nodes: Network[] = [];

  afterAll(async () => {
    await stopAll(nodes);
  });

  it('a peer whose requests time out is asked last, and recovers when it answers again', async () => {
    const chain = makeChain(vals, 20);
    const good = chainProvider(chain);
    let stalled = true;
    const never = new Promise<EncodedBlockWithCommit | undefined>(() => {});
    const flaky: RequestProvider = {
      status: () => good.status(),
      blockByHash: (h): Block | undefined | Promise<Block | undefined> => good.blockByHash(h),
      encodedBlockWithCommit: (h) => (stalled ? never : good.encodedBlockWithCommit(h)),
    };
    nodes = await startNodes(3, vals, (i) => ({
      ...(i === 1 ? { provider: flaky } : i === 2 ? { provider: good } : {}),
      // the stalled peer never answers; healthy answers must fit even on a loaded CI machine
      timeouts: { blockRangeMs: 2_000 },
      // no pings from the client: only requests decide here
      peerManager: { pingIntervalMs: 600_000 },
    }));
    const [client, slow, healthy] = nodes;
    if (client === undefined || slow === undefined || healthy === undefined) throw new Error('setup');
    await client.dial(slow.addresses()[0] ?? '');
    await client.dial(healthy.addresses()[0] ?? '');

    for (let i = 0; i < 2; i++) {
      await expect(
        client.requestBlockRange(1, 5, { peer: slow.peerId, validatorSetAt }),
      ).rejects.toMatchObject({
        failure: 'timeout',
      });
    }
    expect(client.isDelinquent(slow.peerId)).toBe(true);
    expect(client.isDelinquent(healthy.peerId)).toBe(false);
    // without a chosen peer, the healthy one is asked first, every time
    for (let i = 0; i < 5; i++) {
      expect((await client.requestBlockRange(1, 5, { validatorSetAt })).peer).toBe(healthy.peerId);
    }
    // it answers again: one success and it is back
    stalled = false;
    await client.requestBlockRange(1, 5, { peer: slow.peerId, validatorSetAt });
    expect(client.isDelinquent(slow.peerId)).toBe(false);
  });
});

describe('configuration errors', () => {
  it('a peer address without /p2p/<id> fails start() with CONFIG_INVALID, and releases the port', async () => {
    const [probe] = await startNodes(1, vals, () => ({}), 8);
    const address = probe?.addresses()[0] ?? '';
    const port = address.split('/')[4];
    await probe?.stop();
    const bad = await createNetwork(
      testNodeOptions(9, vals, {
        listen: [`/ip4/127.0.0.1/tcp/${port}`],
        persistentPeers: ['/ip4/127.0.0.1/tcp/1'],
      }),
    );
    await expect(bad.start()).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(bad.isStarted).toBe(false);
    const good = await createNetwork(testNodeOptions(9, vals, { listen: [`/ip4/127.0.0.1/tcp/${port}`] }));
    await good.start();
    expect(good.addresses()[0]).toContain(`/tcp/${port}/`);
    await good.stop();
  });
});
