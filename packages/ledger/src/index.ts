/**
 * @synod/ledger: the deterministic application the chain runs (accounts,
 * transfers, staking, fees, slashing and downtime tracking with
 * @synod/fault-detector's rules, app hash, queries by height). The restart
 * handshake is @synod/node's. This module is the package's only public surface.
 */

export type { Punishment, SigningInfo } from '@synod/fault-detector';
export type {
  AppInfo,
  Application,
  CheckTxKind,
  CheckTxResult,
  CommitInfo,
  FinalizeBlockRequest,
  FinalizeBlockResponse,
  InitChainRequest,
  InitChainResponse,
  Misbehavior,
  PrepareProposalRequest,
  ProcessProposalRequest,
  ProcessProposalVerdict,
  QueryRequest,
  QueryResponse,
  TxResult,
  ValidatorUpdate,
} from '@synod/types';
export { freshSigningInfo, punishDowntime, resetSigningInfo, trackDowntime } from './downtime.js';
export {
  DEFAULT_MAX_TX_BYTES,
  DEFAULT_MIN_FEE,
  type LedgerAppStateInput,
  type LedgerAppStateJson,
  type LedgerGenesis,
  type LedgerGenesisAccount,
  type LedgerGenesisValidator,
  ledgerAppState,
  parseLedgerAppState,
} from './genesis-state.js';
export { type BeginBlockContext, LEDGER_APP_VERSION, Ledger, type LedgerOptions } from './ledger.js';
export { type ActiveValidator, emptyLedgerState, LedgerState } from './ledger-state.js';
export {
  type AccountView,
  type ParamsView,
  type PunishedView,
  QUERY_PATHS,
  type QueryPath,
  type SigningInfoView,
  type SlashingRecordView,
  type UnbondingView,
  type ValidatorSetView,
  type ValidatorView,
} from './query.js';
export {
  type Account,
  EMPTY_ACCOUNT,
  type EquivocationKind,
  type InfractionRecord,
  JAIL_FOREVER,
  type LedgerAppParams,
  type SlashingRecord,
  type UnbondingEntry,
  type ValidatorRecord,
  type ValidatorSigningInfo,
} from './records.js';
export {
  applyPunishment,
  jail,
  jailInState,
  type PunishmentContext,
  type PunishmentEvent,
  type PunishmentOutcome,
  punishMisbehavior,
  punishmentEvent,
  slash,
  slashInState,
  tombstone,
  tombstoneInState,
  type UnbondingSlash,
  type UnjailProblem,
  unjail,
  unjailProblem,
} from './slashing.js';
export { EMPTY_TREE_ROOT, SparseMerkleTree, smtRootOf } from './sparse-merkle-tree.js';
export {
  maxPowerPerValidator,
  POWER_REDUCTION,
  powerOfStake,
  type SetMember,
  selectValidatorSet,
  validatorPower,
} from './staking.js';
export {
  LEDGER_QUERY_CODES,
  LEDGER_TX_CODES,
  type LedgerQueryCode,
  type LedgerTxCode,
  type TxStage,
} from './tx-codes.js';
export { DEFAULT_MAX_NONCE_AHEAD, GAS_COSTS, gasRequired } from './tx-exec.js';
