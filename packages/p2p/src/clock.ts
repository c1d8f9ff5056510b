import type { Clock } from '@synod/types';

/**
 * The wall clock, the default Clock of the network: libp2p itself runs on real
 * time, so the network is part of the node's impure shell. Tests inject their
 * own Clock to drive bans and backoff.
 */
export const wallClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return () => clearTimeout(t);
  },
};
