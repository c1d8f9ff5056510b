import { describe, expect, it } from 'vitest';
import { installedPromiseWithResolvers } from '../src/index.js';

type WithResolvers = <T>() => {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e?: unknown) => void;
};

describe('Promise.withResolvers', () => {
  const withResolvers = (Promise as unknown as { withResolvers: WithResolvers }).withResolvers;

  it('exists after the polyfill module loads', () => {
    expect(typeof withResolvers).toBe('function');
    // On Node 20 the polyfill is ours; on 22+ the native one is kept.
    const major = Number(process.versions.node.split('.')[0]);
    expect(installedPromiseWithResolvers).toBe(major < 22);
  });

  it('resolves the returned promise', async () => {
    const { promise, resolve } = withResolvers.call(Promise) as ReturnType<WithResolvers> & {
      promise: Promise<number>;
    };
    resolve(42);
    await expect(promise).resolves.toBe(42);
  });

  it('rejects the returned promise', async () => {
    const { promise, reject } = withResolvers.call(Promise);
    reject(new Error('boom'));
    await expect(promise).rejects.toThrow('boom');
  });
});
