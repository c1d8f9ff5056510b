import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Network, RequestError } from '../../src/index.js';
import {
  chainProvider,
  connectAll,
  makeChain,
  makeValidators,
  RecordingMetrics,
  startNodes,
  stopAll,
  waitFor,
} from '../fixtures.js';

const vals = makeValidators(4);
const validatorSetAt = () => vals.set;

describe('per-peer, per-protocol rate limits of the request/response server', () => {
  const chain = makeChain(vals, 20);
  const serverMetrics = new RecordingMetrics();
  let nodes: Network[] = [];

  beforeAll(async () => {
    nodes = await startNodes(
      3,
      vals,
      (i) =>
        i === 0
          ? {
              provider: chainProvider(chain),
              metrics: serverMetrics,
              // ~one range request every 10 s after a burst of 3: a flood trips it at once
              serveRateLimits: { 'block-range': { perSecond: 0.1, burst: 3 } },
            }
          : {},
      20,
    );
    await connectAll(nodes);
  });

  afterAll(async () => {
    await stopAll(nodes);
  });

  it('refuses a flooding requester with RATE_LIMITED, penalises and finally bans it; an honest requester is still served', async () => {
    const [server, flooder, honest] = nodes;
    if (server === undefined || flooder === undefined || honest === undefined) throw new Error('setup');
    const failures: string[] = [];
    for (let i = 0; i < 20; i++) {
      try {
        await flooder.requestBlockRange(1, 20, { peer: server.peerId, validatorSetAt });
        failures.push('ok');
      } catch (err) {
        failures.push(err instanceof RequestError ? err.failure : String(err));
        if (server.isBanned(flooder.peerId)) break;
      }
    }
    expect(failures.slice(0, 4)).toEqual(['ok', 'ok', 'ok', 'rate-limited']);
    const refused = serverMetrics.total('synod_p2p_requests_served_total', {
      protocol: 'block-range',
      result: 'rate-limited',
    });
    expect(refused).toBeGreaterThan(0);
    // each refusal costs the flooder points (the last one's answer may be cut by the ban's hang-up)
    expect(
      serverMetrics.total('synod_p2p_peer_penalties_total', { reason: 'bad-request' }),
    ).toBeGreaterThanOrEqual(refused);
    expect(server.isBanned(flooder.peerId)).toBe(true);
    await waitFor(() => !server.connectedPeers().includes(flooder.peerId), 'the flooder is disconnected');

    // the honest requester has its own bucket: served in full
    const { peer, items } = await honest.requestBlockRange(1, 20, { peer: server.peerId, validatorSetAt });
    expect(peer).toBe(server.peerId);
    expect(items).toHaveLength(20);
    expect(server.penaltyPoints(honest.peerId)).toBe(0);
    // and other protocols of the flooder's bucket set are not what tripped
    expect(
      serverMetrics.total('synod_p2p_requests_served_total', { protocol: 'status', result: 'rate-limited' }),
    ).toBe(0);
  });
});
