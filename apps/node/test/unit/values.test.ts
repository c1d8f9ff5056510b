import { describe, expect, it } from 'vitest';
import {
  listenMultiaddr,
  parseDurationMs,
  parseHostPort,
  parseLogLevel,
  peerMultiaddr,
  splitList,
} from '../../src/config/values.js';

const ID = '12D3KooWHeVgJweepdAfSBQbeDLkfnz1kUUbSjf3bSksTo9wDAWd';

describe('config value formats', () => {
  it('durations as CometBFT writes them', () => {
    expect(parseDurationMs('0s')).toBe(0);
    expect(parseDurationMs('0')).toBe(0);
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('1m30s')).toBe(90_000);
    expect(parseDurationMs('1.5s')).toBe(1500);
    expect(parseDurationMs('2h')).toBe(7_200_000);
    for (const bad of ['', '5', 's', '5 s', '-1s', '1d', '5sec'])
      expect(parseDurationMs(bad), bad).toBeUndefined();
  });

  it('listen addresses: tcp://IP:PORT or an IP multiaddr, nothing else', () => {
    expect(listenMultiaddr('tcp://0.0.0.0:26656')).toBe('/ip4/0.0.0.0/tcp/26656');
    expect(listenMultiaddr('tcp://[::1]:26656')).toBe('/ip6/::1/tcp/26656');
    expect(listenMultiaddr('/ip4/127.0.0.1/tcp/1')).toBe('/ip4/127.0.0.1/tcp/1');
    for (const bad of [
      '0.0.0.0:26656',
      'tcp://0.0.0.0',
      'tcp://0.0.0.0:65536',
      'tcp://localhost:1',
      'tcp://300.0.0.1:1',
      'udp://0.0.0.0:1',
      '/ip4/1.2.3/tcp/1',
      `/ip4/127.0.0.1/tcp/1/p2p/${ID}`,
    ])
      expect(listenMultiaddr(bad), bad).toBeUndefined();
  });

  it('peers: ID@HOST:PORT (IP or DNS name) or a multiaddr with the peer id', () => {
    expect(peerMultiaddr(`${ID}@127.0.0.1:26656`)).toBe(`/ip4/127.0.0.1/tcp/26656/p2p/${ID}`);
    expect(peerMultiaddr(`${ID}@node1.example.org:26656`)).toBe(`/dns/node1.example.org/tcp/26656/p2p/${ID}`);
    expect(peerMultiaddr(`${ID}@[::1]:1`)).toBe(`/ip6/::1/tcp/1/p2p/${ID}`);
    expect(peerMultiaddr(`/ip4/10.0.0.1/tcp/26656/p2p/${ID}`)).toBe(`/ip4/10.0.0.1/tcp/26656/p2p/${ID}`);
    for (const bad of [
      '127.0.0.1:26656',
      `abc@127.0.0.1:1`,
      `${ID}@127.0.0.1`,
      `${ID}@:1`,
      '/ip4/10.0.0.1/tcp/26656',
      `${ID.slice(0, -1)}0@127.0.0.1:1`,
    ])
      expect(peerMultiaddr(bad), bad).toBeUndefined();
    expect(splitList(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
    expect(splitList('')).toEqual([]);
  });

  it('host:port', () => {
    expect(parseHostPort('127.0.0.1:1', false)).toEqual({ host: '127.0.0.1', port: 1, family: 4 });
    expect(parseHostPort('example.org:1', false)).toBeUndefined();
    expect(parseHostPort('example.org:1', true)).toEqual({ host: 'example.org', port: 1, family: 0 });
    expect(parseHostPort('[example.org]:1', true)).toBeUndefined();
  });

  it('log levels: one level, or per module with a * default', () => {
    expect(parseLogLevel('debug')).toEqual({ default: 'debug', modules: {} });
    expect(parseLogLevel('consensus:debug,p2p:warn,*:error')).toEqual({
      default: 'error',
      modules: { consensus: 'debug', p2p: 'warn' },
    });
    expect(parseLogLevel('p2p:none')).toEqual({ default: 'info', modules: { p2p: 'none' } });
    for (const bad of ['', 'loud', 'info,debug', 'p2p:loud', 'P2P:info', 'p2p'])
      expect(parseLogLevel(bad), bad).toBeUndefined();
  });
});
