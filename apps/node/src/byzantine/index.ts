/**
 * The test-only options of `synodd start` (`--unsafe-byzantine <mode>`,
 * `--unsafe-clock-skew-ms <ms>`), applied by the daemon to the node's ports
 * (transport, clock). Both are refused unless the chain id starts with
 * `test-`. Without them the ports are the daemon's own, untouched.
 */
import type { NodeTransport } from '@synod/node';
import { type Network, wallClock } from '@synod/p2p';
import type { Clock, Genesis, Logger } from '@synod/types';
import { byzantineTransport, checkByzantineMode, checkClockSkew } from './modes.js';

export { BYZANTINE_MODES, type ByzantineMode, checkByzantineMode, TEST_CHAIN_PREFIX } from './modes.js';

export interface UnsafeTestOptions {
  /** A Byzantine mode (modes.ts). */
  readonly byzantine?: string;
  /** Milliseconds added to the node's clock (its block times and timeouts' wall time). */
  readonly clockSkewMs?: number;
}

export interface TestModes {
  readonly clock: Clock;
  transport(inner: NodeTransport, network: Network, keySeed: Uint8Array): NodeTransport;
  stop(): void;
}

/** Checks the options against the chain (throws CONFIG_INVALID) before anything starts. */
export function testModes(o: UnsafeTestOptions | undefined, genesis: Genesis, logger: Logger): TestModes {
  const mode = o?.byzantine === undefined ? undefined : checkByzantineMode(o.byzantine, genesis.chainId);
  const skew =
    o?.clockSkewMs === undefined
      ? 0
      : checkClockSkew(o.clockSkewMs, genesis.chainId, genesis.consensusParams.block.maxTimeDriftMs);
  if (skew !== 0)
    logger.child({ module: 'byzantine' }).warn('running with a skewed clock (test option)', {
      event: 'clock_skew',
      skewMs: skew,
    });
  let stop = (): void => {};
  return {
    clock: skew === 0 ? wallClock : { now: () => Date.now() + skew, setTimer: wallClock.setTimer },
    transport(inner, network, keySeed) {
      if (mode === undefined) return inner;
      const b = byzantineTransport(inner, { mode, chainId: genesis.chainId, keySeed, network, logger });
      stop = b.stop;
      return b.transport;
    },
    stop: () => stop(),
  };
}
