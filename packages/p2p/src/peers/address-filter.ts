import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';

/** IPv4 ranges not reachable from the public internet: [network as a 32-bit number, prefix length]. */
const PRIVATE_IPV4: readonly (readonly [number, number])[] = [
  [ipv4ToNumber('0.0.0.0'), 8], // "this network", unspecified
  [ipv4ToNumber('10.0.0.0'), 8], // RFC 1918
  [ipv4ToNumber('100.64.0.0'), 10], // RFC 6598 carrier-grade NAT
  [ipv4ToNumber('127.0.0.0'), 8], // loopback
  [ipv4ToNumber('169.254.0.0'), 16], // link-local
  [ipv4ToNumber('172.16.0.0'), 12], // RFC 1918
  [ipv4ToNumber('192.168.0.0'), 16], // RFC 1918
  [ipv4ToNumber('255.255.255.255'), 32], // broadcast
];

/** An IPv4 address as a 32-bit number, NaN when it does not parse. */
export function ipv4ToNumber(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) return Number.NaN;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return Number.NaN;
    const v = Number(p);
    if (v > 255) return Number.NaN;
    n = n * 256 + v;
  }
  return n;
}

function isPrivateIpv4(ip: string): boolean {
  const n = ipv4ToNumber(ip);
  if (Number.isNaN(n)) return true; // not an address we understand: never dial it
  return PRIVATE_IPV4.some(
    ([net, bits]) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(net / 2 ** (32 - bits)),
  );
}

/** The eight 16-bit groups of an IPv6 address, or undefined when it does not parse. */
export function ipv6Groups(ip: string): number[] | undefined {
  let text = ip.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // an embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const n = ipv4ToNumber(tail);
    if (Number.isNaN(n)) return undefined;
    text = `${text.slice(0, lastColon + 1)}${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0] ?? '');
  const rest = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (head === undefined || rest === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  if (head.length + rest.length > 7) return undefined;
  return [...head, ...Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

function isPrivateIpv6(ip: string): boolean {
  const g = ipv6Groups(ip);
  if (g === undefined) return true; // not an address we understand: never dial it
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const zeroPrefix = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (zeroPrefix && g5 === 0 && g6 === 0 && (g7 === 0 || g7 === 1)) return true; // :: and ::1
  if (zeroPrefix && g5 === 0xffff) {
    // IPv4-mapped: judge the IPv4 address
    return isPrivateIpv4(`${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`);
  }
  if ((g0 & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((g0 & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local (ULA)
  if ((g0 & 0xffc0) === 0xfec0) return true; // fec0::/10 site-local (deprecated)
  return false;
}

/**
 * True when `address` points at a loopback, private (RFC 1918, IPv6 ULA),
 * link-local, carrier-grade NAT (100.64/10) or unspecified IP, or at a name
 * that means this host (`localhost`). Addresses with no IP or DNS part, and
 * IPs that do not parse, count as private (never dialled from peer exchange).
 */
export function isPrivateAddress(address: Multiaddr | string): boolean {
  let ma: Multiaddr;
  try {
    ma = typeof address === 'string' ? multiaddr(address) : address;
  } catch {
    return true;
  }
  for (const c of ma.getComponents()) {
    switch (c.name) {
      case 'ip4':
        return isPrivateIpv4(c.value ?? '');
      case 'ip6':
        return isPrivateIpv6(c.value ?? '');
      case 'dns':
      case 'dns4':
      case 'dns6':
      case 'dnsaddr': {
        const host = (c.value ?? '').toLowerCase().replace(/\.$/, '');
        return host === 'localhost' || host.endsWith('.localhost');
      }
    }
  }
  return true;
}
