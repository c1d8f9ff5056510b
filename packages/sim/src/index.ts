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
  type SimEvidencePool,
  type SimPunishment,
  type SimSlashing,
  type SimValidatorStatus,
  TX_POISON,
} from './app.js';
export { SimBlockStore } from './block-store.js';
export { type ByzantineAction, FLOOD_BUDGET } from './byzantine.js';
export {
  type AppliedPunishment,
  type CheckerContext,
  Checkers,
  type CheckName,
  type FailureClass,
  type FinalNode,
  type PunishmentStats,
  type SeenMessage,
  type SimFailure,
} from './checkers.js';
export { decodeWire, encodeWire, WireError, type WireMessage } from './codec.js';
export { EventQueue, type SimEvent } from './event-queue.js';
export { createLedgerApp, SIM_ACCOUNTS, SIM_MIN_FEE } from './ledger-app.js';
export { CALM_NETWORK, type NetworkFaults, SimNetwork } from './network.js';
export { Rng } from './rng.js';
export {
  type AttackProfile,
  type ByzantineProfile,
  chooseAttacks,
  describeScenario,
  type FaultPlan,
  maxByzantineCount,
  NO_DEVIATIONS,
  type Scenario,
  type SimMutation,
  type SimOptions,
  VALIDATORS_MAX,
} from './scenario.js';
export { SignatureOracle, type VerifyFn } from './signatures.js';
export {
  applicationOf,
  DOWNTIME_WINDOW_MARGIN,
  type NodeHeap,
  type PunishedValidator,
  runSimulation,
  SIM_CHAIN_ID,
  SIM_EVIDENCE,
  type SimFinalState,
  type SimNodeState,
  type SimResult,
  type SimStats,
  simConsensusParams,
  simSlashing,
} from './simulation.js';
export { Trace } from './trace.js';
