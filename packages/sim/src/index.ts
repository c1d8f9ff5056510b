/**
 * @synod/sim — the deterministic whole-cluster simulator. This file is the
 * package's only public surface.
 */

export {
  Adversary,
  type AdversaryPlan,
  type AttackKind,
  chooseAdversary,
  partitionSchedules,
} from './adversary.js';
export { type ByzantineAction, FLOOD_BUDGET, type Outgoing } from './byzantine.js';
export {
  DOWNTIME_WINDOW_MARGIN,
  GENESIS_TIME_MS,
  SIM_ACCOUNTS,
  SIM_CHAIN_ID,
  SIM_EVIDENCE,
  SIM_MIN_FEE,
  SimChain,
  simConsensusParams,
  simSlashing,
  type TransferSpec,
  type ValidatorKey,
  validatorKeys,
} from './chain.js';
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
export { encodeGossip, GOSSIP_TOPICS } from './codec.js';
export { type CrashPoint, type Life, SimDisk } from './disk.js';
export { EventQueue, type SimEvent } from './event-queue.js';
export { corruptBlock, reassemble, withEvidence } from './forge.js';
export { CALM_NETWORK, type NetworkFaults, SimNetwork } from './network.js';
export type { NodeView } from './node.js';
export {
  type ChainReference,
  ReferenceChain,
  type SimPunishment,
  type SimValidatorStatus,
  type SlashingView,
  slashingView,
} from './reference.js';
export { Rng } from './rng.js';
export {
  ALL_FAULT_KINDS,
  type AttackProfile,
  type ByzantineProfile,
  chooseAttacks,
  describeScenario,
  type FaultKinds,
  type FaultPlan,
  maxByzantineCount,
  NO_DEVIATIONS,
  type Scenario,
  type SimOptions,
  swarm,
  VALIDATORS_MAX,
} from './scenario.js';
export { SignatureOracle, type VerifyFn } from './signatures.js';
export {
  type NodeHeap,
  type PunishedValidator,
  runSimulation,
  type SimFinalState,
  type SimNodeState,
  type SimResult,
  type SimStats,
  scenarioOf,
} from './simulation.js';
export { Trace } from './trace.js';
export {
  emptyTransportCounters,
  fingerprint,
  MESH_DEGREE,
  type Packet,
  SEEN_CACHE_SIZE,
  type SimProtocol,
  type SimRequest,
  SimTransport,
  type TransportCounters,
  type TransportWorld,
} from './transport.js';
export {
  LIVENESS_SENDERS,
  LIVENESS_TXS,
  type Submission,
  TX_KINDS,
  type TxCounts,
  type TxKind,
  TxWorkload,
} from './workload.js';
