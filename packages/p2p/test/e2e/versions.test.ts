/**
 * Protocol versions in the handshake, over real libp2p nodes on 127.0.0.1:
 * each node announces `synod/<software> p2p/<wire version>` in identify; a
 * peer announcing another wire version is refused (disconnected, not
 * dialled again for a while) with one log line naming both versions, while
 * peers of the same wire version (another software version) connect.
 */
import type { LogContext, Logger } from '@synod/types';
import { afterAll, describe, expect, it } from 'vitest';
import {
  agentVersion,
  type Network,
  parseAgentVersion,
  protocolId,
  protocolIds,
  WIRE_VERSION,
} from '../../src/index.js';
import { makeValidators, startNodes, stopAll, waitFor } from '../fixtures.js';

const vals = makeValidators(4);

class LineLogger implements Logger {
  constructor(readonly lines: { level: string; msg: string; ctx: LogContext }[] = []) {}
  trace(): void {}
  debug(): void {}
  info(msg: string, ctx: LogContext = {}): void {
    this.lines.push({ level: 'info', msg, ctx });
  }
  warn(msg: string, ctx: LogContext = {}): void {
    this.lines.push({ level: 'warn', msg, ctx });
  }
  error(msg: string, ctx: LogContext = {}): void {
    this.lines.push({ level: 'error', msg, ctx });
  }
  child(): Logger {
    return this;
  }
}

/** A wire version this build does not speak. */
const NEWER = WIRE_VERSION + 1;

describe('protocol versions', () => {
  let nodes: Network[] = [];
  afterAll(async () => {
    await stopAll(nodes);
  });

  it('agent strings and protocol ids carry the versions', () => {
    expect(agentVersion('1.2.3')).toBe(`synod/1.2.3 p2p/${WIRE_VERSION}`);
    expect(parseAgentVersion(agentVersion('1.2.3', 7))).toEqual({ software: '1.2.3', wire: 7 });
    expect(parseAgentVersion('libp2p/3.0.0 node/20')).toBeUndefined();
    expect(parseAgentVersion('synod/1.0.0 p2p/x')).toBeUndefined();
    expect(protocolId('c', 'status')).toBe(`/synod/c/status/${WIRE_VERSION}`);
    expect(protocolIds('c', 2)).toContain('/synod/c/votes/2');
    expect(protocolIds('c')).toHaveLength(9);
  });

  it('a peer of another wire version is refused with both versions logged; another software version of the same wire version connects', async () => {
    const logA = new LineLogger();
    const logNew = new LineLogger();
    const [a, sameWire] = await startNodes(2, vals, (i) =>
      i === 0 ? { softwareVersion: '1.0.0', logger: logA } : { softwareVersion: '1.1.0' },
    );
    const [newer] = await startNodes(
      1,
      vals,
      () => ({ wireVersion: NEWER, softwareVersion: '2.0.0', logger: logNew }),
      NEWER,
    );
    if (a === undefined || sameWire === undefined || newer === undefined) throw new Error('setup');
    nodes = [a, sameWire, newer];
    expect(a.wireVersion).toBe(WIRE_VERSION);
    expect(newer.wireVersion).toBe(NEWER);

    // Same wire version, other software version: connected, and stays connected.
    await sameWire.dial(a.addresses()[0] ?? '');
    await waitFor(() => a.connectedPeers().includes(sameWire.peerId), 'A and the 1.1.0 node connect', 60_000);

    // The wire-newer-version node dials A: both sides refuse, each naming both versions.
    const refusedBy = (log: LineLogger) =>
      log.lines.find((l) => l.msg === 'peer refused: incompatible protocol version');
    // (dialled again while nothing is refused: under load a first dial can time out)
    let lastDial = 0;
    await waitFor(
      () => {
        if (refusedBy(logA) !== undefined) return true;
        if (Date.now() - lastDial > 5_000) {
          lastDial = Date.now();
          newer.dial(a.addresses()[0] ?? '').catch(() => {});
        }
        return false;
      },
      'A refuses the newer-version peer',
      60_000,
    );
    expect(refusedBy(logA)?.level).toBe('warn');
    expect(refusedBy(logA)?.ctx).toMatchObject({
      event: 'peer_incompatible',
      peer: newer.peerId,
      ourProtocolVersion: WIRE_VERSION,
      peerProtocolVersion: NEWER,
      ourSoftwareVersion: '1.0.0',
      peerSoftwareVersion: '2.0.0',
    });
    await waitFor(() => refusedBy(logNew) !== undefined, 'the newer-version node refuses A', 60_000);
    expect(refusedBy(logNew)?.ctx).toMatchObject({
      ourProtocolVersion: NEWER,
      peerProtocolVersion: WIRE_VERSION,
    });
    await waitFor(
      () => !a.connectedPeers().includes(newer.peerId),
      'A dropped the newer-version peer',
      60_000,
    );
    // Refused for a while: a new dial does not get through.
    await expect(newer.dial(a.addresses()[0] ?? '')).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 500));
    expect(a.connectedPeers()).not.toContain(newer.peerId);
    expect(a.connectedPeers()).toContain(sameWire.peerId);
  }, 180_000);
});
