import { multiaddr } from '@multiformats/multiaddr';
import type { Clock } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { DEFAULT_INBOUND_CONNECTION_LIMITS, InboundIpGuard } from '../../src/peers/ip-guard.js';

function manualClock(): Clock & { advance(ms: number): void } {
  let now = 1_000_000;
  return {
    now: () => now,
    setTimer: () => () => {},
    advance(ms) {
      now += ms;
    },
  };
}

const from = (ip: string, port = 40_000): ReturnType<typeof multiaddr> =>
  multiaddr(ip.includes(':') ? `/ip6/${ip}/tcp/${port}` : `/ip4/${ip}/tcp/${port}`);

/** Admits and settles `n` connections from `ip`; returns the refusals. */
function connect(g: InboundIpGuard, ip: string, n: number): (string | undefined)[] {
  return Array.from({ length: n }, (_, i) => {
    const token = {};
    const r = g.admit(from(ip, 40_000 + i), token);
    g.settled(token);
    return r;
  });
}

describe('InboundIpGuard', () => {
  it('admits a burst per IP, then the sustained rate; other IPs are not affected', () => {
    const clock = manualClock();
    const g = new InboundIpGuard(clock, { perIpBurst: 4, perIpPerSecond: 2 });
    expect(connect(g, '192.0.2.1', 5)).toEqual([undefined, undefined, undefined, undefined, 'ip-rate']);
    expect(connect(g, '192.0.2.2', 4)).toEqual([undefined, undefined, undefined, undefined]);
    clock.advance(500);
    expect(connect(g, '192.0.2.1', 2)).toEqual([undefined, 'ip-rate']);
    clock.advance(10_000);
    // refilled to the burst, not beyond
    expect(connect(g, '192.0.2.1', 5).filter((r) => r === undefined)).toHaveLength(4);
  });

  it('caps handshakes in progress per IP until they settle', () => {
    const g = new InboundIpGuard(manualClock(), { pendingPerIp: 2 });
    const [a, b, c] = [{}, {}, {}];
    expect(g.admit(from('192.0.2.1'), a)).toBeUndefined();
    expect(g.admit(from('192.0.2.1'), b)).toBeUndefined();
    expect(g.admit(from('192.0.2.1'), c)).toBe('ip-pending');
    expect(g.admit(from('192.0.2.9'), c)).toBeUndefined();
    g.settled(a);
    g.settled(a); // idempotent
    expect(g.admit(from('192.0.2.1'), {})).toBeUndefined();
    expect(g.admit(from('192.0.2.1'), {})).toBe('ip-pending');
  });

  it('bans an IP when bannedPeersPerIp of its peers are banned within the window, for ipBanMs', () => {
    const clock = manualClock();
    const g = new InboundIpGuard(clock, {
      bannedPeersPerIp: 3,
      bannedPeersWindowMs: 60_000,
      ipBanMs: 30_000,
    });
    const ip = from('198.51.100.7');
    expect(g.peerBanned('p1', ip)).toBeUndefined();
    // the same peer counts once
    expect(g.peerBanned('p1', ip)).toBeUndefined();
    expect(g.peerBanned('p2', ip)).toBeUndefined();
    expect(g.isIpBanned(ip)).toBe(false);
    expect(g.admit(ip, {})).toBeUndefined();
    expect(g.peerBanned('p3', ip)).toBe('198.51.100.7');
    expect(g.isIpBanned(ip)).toBe(true);
    expect(g.admit(from('198.51.100.7', 1), {})).toBe('ip-banned');
    expect(g.admit(from('198.51.100.8'), {})).toBeUndefined();
    expect(g.bannedIps()).toEqual([{ ip: '198.51.100.7', untilMs: clock.now() + 30_000 }]);
    clock.advance(30_001);
    expect(g.isIpBanned(ip)).toBe(false);
    expect(g.admit(ip, {})).toBeUndefined();
    // the count started again
    expect(g.peerBanned('p4', ip)).toBeUndefined();
  });

  it('does not ban an IP whose banned peers are spread beyond the window', () => {
    const clock = manualClock();
    const g = new InboundIpGuard(clock, { bannedPeersPerIp: 3, bannedPeersWindowMs: 60_000 });
    const ip = from('198.51.100.7');
    g.peerBanned('p1', ip);
    clock.advance(40_000);
    g.peerBanned('p2', ip);
    clock.advance(40_000);
    expect(g.peerBanned('p3', ip)).toBeUndefined();
    expect(g.isIpBanned(ip)).toBe(false);
    clock.advance(1_000);
    expect(g.peerBanned('p4', ip)).toBe('198.51.100.7');
  });

  it('unbanIp lifts an IP ban; bannedPeersPerIp 0 never bans an IP', () => {
    const g = new InboundIpGuard(manualClock(), { bannedPeersPerIp: 1 });
    const ip = from('203.0.113.5');
    expect(g.peerBanned('p', ip)).toBe('203.0.113.5');
    g.unbanIp('203.0.113.5');
    expect(g.isIpBanned(ip)).toBe(false);
    const never = new InboundIpGuard(manualClock(), { bannedPeersPerIp: 0 });
    for (let i = 0; i < 20; i++) expect(never.peerBanned(`p${i}`, ip)).toBeUndefined();
    expect(never.isIpBanned(ip)).toBe(false);
  });

  it('counts IPv6 by its /64 and IPv4-mapped addresses as IPv4', () => {
    const g = new InboundIpGuard(manualClock(), { perIpBurst: 2, perIpPerSecond: 0.001 });
    expect(g.keyOf(from('2001:db8:1:2:aaaa::1'))).toBe('2001:db8:1:2::/64');
    expect(g.keyOf(from('::ffff:192.0.2.1'))).toBe('192.0.2.1');
    expect(connect(g, '2001:db8:1:2::1', 1)).toEqual([undefined]);
    // another address of the same /64 shares its bucket
    expect(connect(g, '2001:db8:1:2:ffff:ffff:ffff:ffff', 2)).toEqual([undefined, 'ip-rate']);
    expect(connect(g, '2001:db8:1:3::1', 1)).toEqual([undefined]);
    const g48 = new InboundIpGuard(manualClock(), { ipv6PrefixBits: 52 });
    expect(g48.keyOf(from('2001:db8:1:2fff::1'))).toBe('2001:db8:1:2000::/52');
  });

  it('never limits allowed addresses and ranges, nor addresses with no IP', () => {
    const g = new InboundIpGuard(manualClock(), {
      perIpBurst: 1,
      bannedPeersPerIp: 1,
      allow: ['10.0.0.0/8', '192.0.2.1', '2001:db8::/32'],
    });
    expect(connect(g, '10.1.2.3', 5)).toEqual(Array(5).fill(undefined));
    expect(connect(g, '192.0.2.1', 5)).toEqual(Array(5).fill(undefined));
    expect(connect(g, '2001:db8:ffff::1', 5)).toEqual(Array(5).fill(undefined));
    expect(g.peerBanned('p', from('10.9.9.9'))).toBeUndefined();
    expect(connect(g, '11.0.0.1', 2)).toEqual([undefined, 'ip-rate']);
    expect(connect(g, '192.0.2.2', 2)).toEqual([undefined, 'ip-rate']);
    expect(g.keyOf(multiaddr('/dns4/example.com/tcp/1'))).toBeUndefined();
  });

  it('refuses a malformed configuration with CONFIG_INVALID', () => {
    const clock = manualClock();
    expect(() => new InboundIpGuard(clock, { allow: ['10.0.0.0/33'] })).toThrow(/not an IP address/);
    expect(() => new InboundIpGuard(clock, { allow: ['nonsense'] })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => new InboundIpGuard(clock, { perIpPerSecond: 0 })).toThrow(/perIpPerSecond/);
    expect(() => new InboundIpGuard(clock, { bannedPeersPerIp: 1.5 })).toThrow(/bannedPeersPerIp/);
  });

  it('forgets the least recently seen IPs beyond trackedIpsMax', () => {
    const g = new InboundIpGuard(manualClock(), {
      ...DEFAULT_INBOUND_CONNECTION_LIMITS,
      perIpBurst: 1,
      trackedIpsMax: 2,
    });
    expect(connect(g, '192.0.2.1', 2)).toEqual([undefined, 'ip-rate']);
    connect(g, '192.0.2.2', 1);
    connect(g, '192.0.2.3', 1);
    // 192.0.2.1 was forgotten: a fresh bucket
    expect(connect(g, '192.0.2.1', 1)).toEqual([undefined]);
  });

  it('wouldRefuse peeks with a socket’s address text, counting nothing', () => {
    const clock = manualClock();
    const g = new InboundIpGuard(clock, {
      perIpBurst: 2,
      perIpPerSecond: 1,
      pendingPerIp: 1,
      bannedPeersPerIp: 1,
    });
    // an IP never seen: admitted
    expect(g.wouldRefuse('192.0.2.1')).toBeUndefined();
    const token = {};
    expect(g.admit(from('192.0.2.1'), token)).toBeUndefined();
    expect(g.wouldRefuse('192.0.2.1')).toBe('ip-pending');
    g.settled(token);
    // peeking spends no token: the second connection is still admitted
    expect(g.wouldRefuse('192.0.2.1')).toBeUndefined();
    expect(g.wouldRefuse('192.0.2.1')).toBeUndefined();
    expect(connect(g, '192.0.2.1', 1)).toEqual([undefined]);
    expect(g.wouldRefuse('192.0.2.1')).toBe('ip-rate');
    clock.advance(1_000);
    expect(g.wouldRefuse('192.0.2.1')).toBeUndefined();
    // the IPv4-mapped form a dual-stack socket reports is the same IP
    g.peerBanned('p', from('192.0.2.1'));
    expect(g.wouldRefuse('::ffff:192.0.2.1')).toBe('ip-banned');
    expect(g.wouldRefuse('192.0.2.2')).toBeUndefined();
    expect(g.wouldRefuse('not an address')).toBeUndefined();
  });
});
