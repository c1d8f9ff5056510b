/**
 * A peer that sends garbage on every request/response protocol (synodd
 * start --unsafe-byzantine garbage, a non-validator of a test chain) against
 * an honest validator over real libp2p on 127.0.0.1: the honest node answers
 * each malformed request with a typed rejection (a `bad_request` line and
 * `synod_p2p_bad_requests_total` naming the protocol), bans the peer, never
 * crashes, and keeps committing.
 */
import { join } from 'node:path';
import { REQRESP_PROTOCOLS } from '@synod/p2p';
import { expect, it } from 'vitest';
import {
  freeBasePort,
  heightOf,
  processGroup,
  type Status,
  synodd,
  until,
  waitForStatus,
} from './harness.js';

const group = processGroup();

async function metricsText(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  return r.text();
}

it('garbage on each request/response protocol: rejected per protocol, banned, the honest node keeps committing', async () => {
  const out = join(group.dir(), 'net');
  const base = await freeBasePort(2);
  const made = await synodd([
    'testnet',
    '--validators',
    '1',
    '--non-validators',
    '1',
    '--out',
    out,
    '--chain-id',
    'test-garbage-requests',
    '--base-port',
    String(base),
  ]);
  expect(made.code, made.stderr).toBe(0);
  const garbagePeer = /node1 .* id (\S+)/.exec(made.stdout)?.[1];
  expect(garbagePeer).toBeDefined();
  const honest = group.start(['--home', join(out, 'node0')]);
  const rpcPort = base + 1;
  await waitForStatus(rpcPort, (s: Status) => heightOf(s) >= 1, 60_000);
  const garbage = group.start(['--home', join(out, 'node1'), '--unsafe-byzantine', 'garbage']);

  // The garbage node says what it sent, and how each request ended on its side.
  const sent = await garbage.waitForLine((l) => l.msg === 'sent request garbage', 90_000);
  expect(sent.peer).toBeDefined();
  // Every Synod protocol got a malformed request, the others (identify, ping, gossipsub) random bytes.
  const requests = sent.requests as string[];
  for (const p of REQRESP_PROTOCOLS) expect(requests.some((r) => r.startsWith(`${p}:malformed:`))).toBe(true);
  expect(requests.some((r) => r.startsWith('/ipfs/id/') && r.includes(':random:'))).toBe(true);
  expect(requests.some((r) => r.startsWith('/ipfs/ping/') && r.includes(':random:'))).toBe(true);

  // The honest node: a typed rejection naming each protocol, then the ban.
  await until(
    () =>
      REQRESP_PROTOCOLS.every((p) =>
        honest.lines.some((l) => l.event === 'bad_request' && l.protocol === p && l.peer === garbagePeer),
      ),
    'a bad_request line for every protocol',
    60_000,
  );
  for (const l of honest.lines.filter((x) => x.event === 'bad_request'))
    expect(['bad-request', 'oversized-message']).toContain(l.kind);
  const ban = await honest.waitForLine((l) => l.event === 'peer_banned' && l.peer === garbagePeer, 60_000);
  // The malformed requests come first (each a small penalty), then the oversize ones: the ban is
  // for an oversize request, named by its protocol.
  expect(ban.reason).toBe('oversized-message');
  expect(REQRESP_PROTOCOLS).toContain(ban.protocol);

  const metrics = await metricsText(base + 4);
  for (const p of REQRESP_PROTOCOLS)
    expect(metrics).toMatch(
      new RegExp(`synod_p2p_bad_requests_total\\{protocol="${p}",kind="[a-z-]+"\\} [1-9]`),
    );
  expect(metrics).toMatch(/synod_p2p_peer_bans_total\{reason="[a-z-]+"\} [1-9]/);

  // Never a crash, and the chain goes on after the ban.
  const after = heightOf(await waitForStatus(rpcPort, () => true, 10_000));
  await waitForStatus(rpcPort, (s) => heightOf(s) >= after + 3, 60_000);
  expect(honest.child.exitCode).toBeNull();
  expect(honest.lines.filter((l) => ['crash', 'unhandled_rejection'].includes(String(l.event)))).toEqual([]);
}, 240_000);
