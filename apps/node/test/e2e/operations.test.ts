/**
 * Operating a network with real synodd processes on 127.0.0.1:
 * - every metric the shipped alerting rules (monitoring/alerts.yml) read is
 *   served by a running node;
 * - `[consensus] halt_height` (`start --halt-height H`) on one node: exit 0
 *   after committing H, a restart with the key still set refuses (exit 1,
 *   one line), without it the chain continues from H (the 4-validator
 *   version is test/long/halt-height.test.ts);
 * - `status` reports the software version, the agent and the protocol ids,
 *   and a libp2p peer of another wire version is refused by synodd with a
 *   log line naming both versions, while a peer of the same one connects.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetwork, type Network, WIRE_VERSION } from '@synod/p2p';
import { describe, expect, it } from 'vitest';
import {
  heightOf,
  lastHeight,
  portFlags,
  processGroup,
  rpc,
  synodd,
  until,
  waitForStatus,
} from './harness.js';

const ALERTS = fileURLToPath(new URL('../../monitoring/alerts.yml', import.meta.url));

const { dir, start } = processGroup();

/** The metric names an alerting rule expression reads. */
function metricNames(rules: string): Set<string> {
  const names = new Set<string>();
  for (const line of rules.split('\n')) {
    const expr = /^\s*expr:\s*(.*)$/.exec(line)?.[1];
    if (expr === undefined) continue;
    for (const m of expr.matchAll(/\b((?:synod|nodejs)_[a-z0-9_]+)\b/g)) names.add(m[1] as string);
  }
  return names;
}

describe('operations', () => {
  it('a running node serves every metric the alerting rules read', async () => {
    const home = join(dir(), 'metrics');
    expect((await synodd(['init', '--home', home, '--chain-id', 'e2e-metrics'])).code).toBe(0);
    const ports = await portFlags();
    const node = start(['--home', home, ...ports.flags]);
    await waitForStatus(ports.rpc, (s) => heightOf(s) >= 3, 30_000);
    const names = metricNames(await readFile(ALERTS, 'utf8'));
    expect(names.size).toBeGreaterThanOrEqual(15);
    const text = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
    // A series, or a declared metric (a labelled counter has no series before its first event).
    const served = new Set(
      text
        .split('\n')
        .map((l) => (l.startsWith('# TYPE ') ? l.split(' ')[2] : /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)?.[0])),
    );
    for (const name of names) expect(served.has(name), name).toBe(true);
    // This node's own validator: in the set, signing, not jailed.
    expect(text).toMatch(/^synod_node_self_in_validator_set 1$/m);
    expect(text).toMatch(/^synod_node_self_jailed 0$/m);
    expect(text).toMatch(/^synod_node_self_missed_blocks_total 0$/m);
    expect(text).toMatch(/^synod_mempool_max_txs 5000$/m);
    expect((await node.stop()).code).toBe(0);
  }, 60_000);

  it('halt_height on one node: exit 0 after committing H; refused with the key still set; continues from H without it', async () => {
    const home = join(dir(), 'halt-one');
    expect((await synodd(['init', '--home', home, '--chain-id', 'e2e-halt-one'])).code).toBe(0);
    const ports = await portFlags();
    const H = 3;
    const first = start([
      '--home',
      home,
      ...ports.flags,
      '--log_level',
      'daemon:debug,*:info',
      '--halt-height',
      String(H),
    ]);
    expect(await first.exited).toBe(0);
    expect(first.lines.find((l) => l.msg === 'halt height reached: stopping')).toMatchObject({
      event: 'halt_height',
      height: H,
    });
    expect(lastHeight(first)).toBe(H);
    expect(first.lines.find((l) => l.msg === 'synodd stopped')?.height).toBe(H);
    const again = await synodd([
      'start',
      '--home',
      home,
      ...ports.flags,
      '--consensus.halt_height',
      String(H),
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(
      `synodd: CONFIG_INVALID: halt height ${H}: this node already committed height ${H}; remove [consensus] halt_height (or set it above ${H}) to go on`,
    );
    const second = start(['--home', home, ...ports.flags]);
    expect((await second.waitForLine((l) => l.msg === 'synodd started')).height).toBe(H);
    await waitForStatus(ports.rpc, (st) => heightOf(st) >= H + 2, 30_000);
    expect((await second.stop()).code).toBe(0);
  }, 60_000);

  it('status shows the versions and protocol ids; a peer of another wire version is refused, naming both', async () => {
    const home = join(dir(), 'versions');
    expect((await synodd(['init', '--home', home, '--chain-id', 'e2e-versions'])).code).toBe(0);
    const ports = await portFlags();
    const node = start(['--home', home, ...ports.flags]);
    const s = await waitForStatus(ports.rpc, (st) => heightOf(st) >= 1, 30_000);
    const version = (await synodd(['version'])).stdout.trim();
    const info = s.node_info as unknown as {
      protocol_version: { p2p: string };
      other: Record<string, string>;
    };
    expect(info.protocol_version.p2p).toBe(String(WIRE_VERSION));
    expect(info.other.software_version).toBe(version);
    expect(info.other.agent).toBe(`synod/${version} p2p/${WIRE_VERSION}`);
    const ids = info.other.protocols?.split(',') ?? [];
    expect(ids).toContain(`/synod/e2e-versions/votes/${WIRE_VERSION}`);
    expect(ids).toContain(`/synod/e2e-versions/block-range/${WIRE_VERSION}`);

    const address = `/ip4/127.0.0.1/tcp/${ports.p2p}/p2p/${info.other.peer_id}`;
    const peer = (wireVersion: number): Promise<Network> =>
      createNetwork({
        chainId: 'e2e-versions',
        nodeKey: { seed: randomBytes(32) },
        listen: ['/ip4/127.0.0.1/tcp/0'],
        wireVersion,
        softwareVersion: `9.${wireVersion}.0`,
        validation: {
          chainId: 'e2e-versions',
          currentHeight: () => 1,
          validatorSetAt: () => undefined,
          proposerIndex: () => undefined,
        },
        peerManager: { allowPrivateAddresses: true },
      });
    const newer = await peer(WIRE_VERSION + 1);
    const same = await peer(WIRE_VERSION);
    try {
      await newer.start();
      await newer.dial(address).catch(() => {});
      const refused = await node.waitForLine((l) => l.msg === 'peer refused: incompatible protocol version');
      expect(refused).toMatchObject({
        level: 'warn',
        peer: newer.peerId,
        ourProtocolVersion: WIRE_VERSION,
        peerProtocolVersion: WIRE_VERSION + 1,
        ourSoftwareVersion: version,
        peerSoftwareVersion: `9.${WIRE_VERSION + 1}.0`,
      });
      await same.start();
      await same.dial(address);
      await until(
        () => same.connectedPeers().includes(info.other.peer_id as string),
        'the same-version peer connects',
      );
      // The refused peer is hung up (2 s after the refusal); the same-version one stays.
      await until(
        () => !newer.connectedPeers().includes(info.other.peer_id as string),
        'the refused peer disconnected',
        30_000,
      );
      const net = await rpc<{ peers: unknown[] }>(ports.rpc, 'net_info');
      expect(net.peers.length).toBe(1);
      expect(same.connectedPeers()).toContain(info.other.peer_id);
    } finally {
      await newer.stop();
      await same.stop();
    }
    expect((await node.stop()).code).toBe(0);
  }, 60_000);
});
