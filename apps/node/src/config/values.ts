/**
 * The value formats of config.toml, as CometBFT writes them: durations
 * ("500ms", "1m30s"), listen addresses ("tcp://0.0.0.0:26656", or a
 * multiaddr), peer lists ("ID@HOST:PORT,…") and log levels
 * ("info" or "consensus:debug,p2p:warn,*:info").
 */
import { isIP } from 'node:net';

/** A Go-style duration ("0s", "500ms", "1m30s") in whole milliseconds; undefined when malformed (@synod/rpc's rule, one for every duration key). */
export { parseDurationMs } from '@synod/rpc';

/** A host and port to listen on or dial. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
  /** 4 or 6 for an IP literal, 0 for a DNS name. */
  readonly family: 0 | 4 | 6;
}

const DNS_NAME =
  /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** "HOST:PORT" or "[IPv6]:PORT"; `allowName` admits DNS names. Undefined when malformed. */
export function parseHostPort(text: string, allowName: boolean): HostPort | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port > 65_535) return undefined;
  const host = m[1] ?? m[2] ?? '';
  const family = isIP(host);
  if (m[1] !== undefined && family !== 6) return undefined;
  if (family === 4 || family === 6) return { host, port, family };
  if (allowName && DNS_NAME.test(host)) return { host, port, family: 0 };
  return undefined;
}

/** "tcp://HOST:PORT" (CometBFT) with an IP host; undefined when malformed. */
export function parseTcpAddress(text: string): HostPort | undefined {
  if (!text.startsWith('tcp://')) return undefined;
  const hp = parseHostPort(text.slice('tcp://'.length), false);
  return hp === undefined || hp.family === 0 ? undefined : hp;
}

/** The multiaddr of a host and port (`/ip4/…/tcp/…`, `/ip6/…`, `/dns/…`). */
export function hostPortMultiaddr(hp: HostPort): string {
  const proto = hp.family === 4 ? 'ip4' : hp.family === 6 ? 'ip6' : 'dns';
  return `/${proto}/${hp.host}/tcp/${hp.port}`;
}

const MULTIADDR_TCP = /^\/(ip4|ip6|dns|dns4|dns6)\/([^/]+)\/tcp\/(\d{1,5})(\/p2p\/([1-9A-HJ-NP-Za-km-z]+))?$/;

/** A TCP multiaddr (`/ip4/…/tcp/…[/p2p/ID]`), checked; undefined when malformed. */
export function parseTcpMultiaddr(text: string): { address: string; peerId: string | undefined } | undefined {
  const m = MULTIADDR_TCP.exec(text);
  if (m === null || Number(m[3]) > 65_535) return undefined;
  const proto = m[1] as string;
  const host = m[2] as string;
  if (proto === 'ip4' && isIP(host) !== 4) return undefined;
  if (proto === 'ip6' && isIP(host) !== 6) return undefined;
  if (proto.startsWith('dns') && !DNS_NAME.test(host)) return undefined;
  return { address: text, peerId: m[5] };
}

/** A libp2p peer id as Synod's node keys make them (Ed25519, base58btc `12D3KooW…`). */
export const PEER_ID = /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/;

/** A listen address: `tcp://IP:PORT` or a TCP multiaddr with an IP; returns the multiaddr. */
export function listenMultiaddr(text: string): string | undefined {
  const tcp = parseTcpAddress(text);
  if (tcp !== undefined) return hostPortMultiaddr(tcp);
  const ma = parseTcpMultiaddr(text);
  if (ma === undefined || ma.peerId !== undefined || !/^\/ip[46]\//.test(text)) return undefined;
  return ma.address;
}

/**
 * One peer: `ID@HOST:PORT` (CometBFT) or a multiaddr ending in `/p2p/ID`;
 * returns its multiaddr with the peer id.
 */
export function peerMultiaddr(text: string): string | undefined {
  const at = text.indexOf('@');
  if (at > 0) {
    const id = text.slice(0, at);
    const hp = parseHostPort(text.slice(at + 1), true);
    if (!PEER_ID.test(id) || hp === undefined) return undefined;
    return `${hostPortMultiaddr(hp)}/p2p/${id}`;
  }
  const ma = parseTcpMultiaddr(text);
  if (ma?.peerId === undefined || !PEER_ID.test(ma.peerId)) return undefined;
  return ma.address;
}

/** CometBFT's comma-separated lists ("a,b, c"); the empty string is the empty list. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'none'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** A log level spec: the default level and per-module levels. */
export interface LogLevelSpec {
  readonly default: LogLevelName;
  readonly modules: Readonly<Record<string, LogLevelName>>;
}

function isLevel(s: string): s is LogLevelName {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

/** "info", or "consensus:debug,p2p:warn,*:info" (CometBFT's syntax); undefined when malformed. */
export function parseLogLevel(text: string): LogLevelSpec | undefined {
  const items = splitList(text);
  if (items.length === 0) return undefined;
  let fallback: LogLevelName = 'info';
  const modules: Record<string, LogLevelName> = {};
  for (const item of items) {
    const colon = item.indexOf(':');
    if (colon < 0) {
      if (!isLevel(item) || items.length !== 1) return undefined;
      return { default: item, modules: {} };
    }
    const module = item.slice(0, colon);
    const level = item.slice(colon + 1);
    if (!isLevel(level) || !/^(\*|[a-z][a-z0-9-]*)$/.test(module)) return undefined;
    if (module === '*') fallback = level;
    else modules[module] = level;
  }
  return { default: fallback, modules };
}
