import { isSynodError } from '@synod/types';
import { describe, expect, it } from 'vitest';
import type { MempoolOptions } from '../../src/index.js';
import { MEMPOOL_DEFAULTS, Mempool } from '../../src/index.js';
import { FakeApp } from '../helpers/fake-app.js';

describe('options', () => {
  it('has documented defaults', () => {
    expect(MEMPOOL_DEFAULTS).toEqual({
      maxTxs: 5000,
      maxBytes: 64 * 1024 * 1024,
      maxTxBytes: 1024 * 1024,
      cacheSize: 10_000,
      keepInvalidTxsInCache: false,
      ttlBlocks: 1000,
      ttlMs: 0,
      recheck: true,
      height: 0,
    });
    const pool = new Mempool(new FakeApp());
    expect(pool.size).toBe(0);
    expect(pool.bytes).toBe(0);
    expect(pool.height).toBe(0);
  });

  it.each<[string, MempoolOptions]>([
    ['maxTxs 0', { maxTxs: 0 }],
    ['maxBytes fractional', { maxBytes: 1.5 }],
    ['maxTxBytes above maxBytes', { maxBytes: 10, maxTxBytes: 11 }],
    ['cacheSize 0', { cacheSize: 0 }],
    ['negative ttlBlocks', { ttlBlocks: -1 }],
    ['ttlMs without a clock', { ttlMs: 1000 }],
    ['negative height', { height: -1 }],
  ])('rejects %s with CONFIG_INVALID', (_name, options) => {
    let err: unknown;
    try {
      new Mempool(new FakeApp(), options);
    } catch (e) {
      err = e;
    }
    expect(isSynodError(err, 'CONFIG_INVALID')).toBe(true);
  });

  it('maxTxBytes defaults to min(1 MiB, maxBytes)', async () => {
    const pool = new Mempool(new FakeApp(), { maxBytes: 100 });
    expect((await pool.add(new Uint8Array(101))).code).toBe('TX_TOO_LARGE');
  });
});
