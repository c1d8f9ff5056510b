/**
 * Node.js 20 polyfills. Import this module once, first, from every entry point
 * (the apps' binaries, bench and sim scripts, and the shared vitest setup):
 *
 *     import '@synod/polyfills';
 *
 * - `Promise.withResolvers` (ES2024, Node 22+): libp2p 3 and its transports call
 *   it. The polyfill follows the specification: it returns `{ promise, resolve,
 *   reject }` for a fresh promise of the receiver's constructor.
 *
 * Each polyfill is installed only when the runtime lacks the feature, so on
 * Node 22 and 24 this module does nothing.
 */

interface PromiseWithResolversShape<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

type PromiseCtorWithResolvers = PromiseConstructor & {
  withResolvers?: <T>() => PromiseWithResolversShape<T>;
};

const ctor = Promise as PromiseCtorWithResolvers;

/** True when this module had to install `Promise.withResolvers`. */
export const installedPromiseWithResolvers: boolean = typeof ctor.withResolvers !== 'function';

if (installedPromiseWithResolvers) {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    enumerable: false,
    value: function withResolvers<T>(this: PromiseConstructor): PromiseWithResolversShape<T> {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const C = typeof this === 'function' ? this : Promise;
      const promise = new C<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
