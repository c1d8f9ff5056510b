import { describe, expect, it } from 'vitest';
import { isPrivateAddress } from '../../src/peers/address-filter.js';

const ID = '12D3KooWGRUVh8KVmLQ6kE8NxYx5Jq3N8xUqTWNsM2d4s1x3L5Aa';

describe('isPrivateAddress (peer-exchange dial filter)', () => {
  it.each([
    ['/ip4/127.0.0.1/tcp/26656', 'IPv4 loopback'],
    ['/ip4/127.255.3.4/tcp/26656', 'IPv4 loopback, whole /8'],
    ['/ip4/10.1.2.3/tcp/26656', 'RFC 1918 10/8'],
    ['/ip4/172.16.0.1/tcp/26656', 'RFC 1918 172.16/12, low end'],
    ['/ip4/172.31.255.254/tcp/26656', 'RFC 1918 172.16/12, high end'],
    ['/ip4/192.168.1.20/tcp/26656', 'RFC 1918 192.168/16'],
    ['/ip4/169.254.10.1/tcp/26656', 'IPv4 link-local'],
    ['/ip4/100.64.0.1/tcp/26656', 'CGNAT 100.64/10, low end'],
    ['/ip4/100.127.255.254/tcp/26656', 'CGNAT 100.64/10, high end'],
    ['/ip4/0.0.0.0/tcp/26656', 'IPv4 unspecified'],
    ['/ip6/::1/tcp/26656', 'IPv6 loopback'],
    ['/ip6/::/tcp/26656', 'IPv6 unspecified'],
    ['/ip6/fe80::1/tcp/26656', 'IPv6 link-local'],
    ['/ip6/febf:ffff::1/tcp/26656', 'IPv6 link-local, high end of fe80::/10'],
    ['/ip6/fc00::1/tcp/26656', 'IPv6 ULA fc00::/7'],
    ['/ip6/fd12:3456:789a::1/tcp/26656', 'IPv6 ULA fd00::/8'],
    ['/ip6/fec0::1/tcp/26656', 'IPv6 site-local (deprecated)'],
    ['/ip6/::ffff:192.168.0.1/tcp/26656', 'IPv4-mapped private'],
    ['/ip6/::ffff:127.0.0.1/tcp/26656', 'IPv4-mapped loopback'],
    ['/dns4/localhost/tcp/26656', 'localhost by name'],
    [`/ip4/192.168.0.7/tcp/26656/p2p/${ID}`, 'with a peer id'],
  ])('%s is private (%s)', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each([
    ['/ip4/8.8.8.8/tcp/26656', 'public IPv4'],
    ['/ip4/172.15.255.255/tcp/26656', 'just below 172.16/12'],
    ['/ip4/172.32.0.0/tcp/26656', 'just above 172.16/12'],
    ['/ip4/100.63.255.255/tcp/26656', 'just below CGNAT'],
    ['/ip4/100.128.0.0/tcp/26656', 'just above CGNAT'],
    ['/ip4/11.0.0.1/tcp/26656', 'next to 10/8'],
    ['/ip6/2001:db8::1/tcp/26656', 'global IPv6'],
    ['/ip6/2a00:1450:4001:80b::200e/tcp/26656', 'global IPv6'],
    ['/ip6/::ffff:8.8.8.8/tcp/26656', 'IPv4-mapped public'],
    ['/dns4/seed.example.org/tcp/26656', 'a public name'],
    [`/ip4/1.2.3.4/tcp/26656/p2p/${ID}`, 'with a peer id'],
  ])('%s is public (%s)', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });
});
