/**
 * @synod/sim — the deterministic whole-cluster simulator. This file is the
 * package's only public surface.
 */
export {
  createCounterApp,
  type SimAppGenesis,
  type SimApplication,
  type SimApplicationFactory,
  type SimAppStorage,
  TX_POISON,
} from './app.js';
export { SimBlockStore } from './block-store.js';
export type { ByzantineAction } from './byzantine.js';
export {
  type CheckerContext,
  Checkers,
  type CheckName,
  type FailureClass,
  type SeenMessage,
  type SimFailure,
} from './checkers.js';
export { decodeWire, encodeWire, WireError, type WireMessage } from './codec.js';
export { EventQueue, type SimEvent } from './event-queue.js';
export { CALM_NETWORK, type NetworkFaults, SimNetwork } from './network.js';
export { Rng } from './rng.js';
export {
  type ByzantineProfile,
  describeScenario,
  type FaultPlan,
  maxByzantineCount,
  type Scenario,
  type SimMutation,
  type SimOptions,
  VALIDATORS_MAX,
} from './scenario.js';
export { SignatureOracle, type VerifyFn } from './signatures.js';
export {
  runSimulation,
  SIM_CHAIN_ID,
  type SimFinalState,
  type SimNodeState,
  type SimResult,
  type SimStats,
} from './simulation.js';
export { Trace } from './trace.js';
