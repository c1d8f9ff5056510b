import { toHex } from '@synod/crypto';
import { maxMissedBlocks } from '@synod/fault-detector';
import { type ConsensusParams, decodeConsensusParams, toJsonValue } from '@synod/types';
import { compareBytes, concat, readU64Number } from './bytes.js';
import {
  decodeAccount,
  decodeAppParams,
  decodeSigningInfo,
  decodeSlashingRecord,
  decodeUnbonding,
  decodeValidator,
  type SlashingRecord,
  TABLE,
  type UnbondingEntry,
  type ValidatorRecord,
} from './records.js';
import { POWER_REDUCTION } from './staking.js';
import type { LedgerQueryCode } from './tx-codes.js';

/** Reads of the state at one height (the latest in memory, or the history in the store). */
export interface StateSource {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Every (key, value) of a table, in key order. */
  table(tag: number): Promise<{ key: Uint8Array; value: Uint8Array }[]>;
}

/** `value` of an `account` query (JSON). */
export interface AccountView {
  readonly address: string;
  readonly balance: string;
  readonly nonce: number;
}

/** `value` of a `validator` query (JSON). */
export interface ValidatorView {
  readonly pubKey: string;
  readonly address: string;
  readonly operator: string;
  readonly bondedStake: string;
  readonly jailed: boolean;
  readonly jailedUntilMs: number;
  readonly tombstoned: boolean;
  /** Power in the validator set returned to consensus at this height (0 when not in it). */
  readonly votingPower: number;
}

/** `value` of a `validators` query (JSON): the set decided at `height`, in force from `effectiveHeight`. */
export interface ValidatorSetView {
  readonly height: number;
  readonly effectiveHeight: number;
  readonly totalPower: number;
  readonly validators: readonly {
    readonly pubKey: string;
    readonly address: string;
    readonly power: number;
  }[];
}

/** `value` of an `unbonding` query (JSON). */
export interface UnbondingView {
  readonly entries: readonly {
    readonly validator: string;
    readonly operator: string;
    readonly amount: string;
    readonly creationHeight: number;
    readonly releaseHeight: number;
  }[];
}

/** `value` of a `params` query (JSON). */
export interface ParamsView {
  readonly chainId: string;
  readonly minFee: string;
  readonly maxTxBytes: number;
  readonly initialHeight: number;
  readonly powerReduction: string;
  readonly consensusParams: ConsensusParams;
}

/** Punishment counters of one validator (JSON; part of the `slashing/*` views). */
export interface SlashingRecordView {
  /** Times jailed for downtime. */
  readonly downtimeJails: number;
  /** Equivocations punished (double sign, double proposal). */
  readonly equivocations: number;
  /** Stake burned over all punishments (bonded and unbonding). */
  readonly totalBurned: string;
  readonly last: {
    /** Height of the block that applied it. */
    readonly height: number;
    readonly reason: 'double-sign' | 'double-proposal' | 'downtime';
    /** Bonded stake burned. */
    readonly slashAmount: string;
    /** Jail end set (block time, ms; JAIL_FOREVER for ever). */
    readonly jailUntilMs: number;
  } | null;
}

/**
 * `value` of a `slashing/signing-info` query (JSON): the validator's downtime
 * window, its jail status and its punishment counters.
 */
export interface SigningInfoView extends SlashingRecordView {
  readonly address: string;
  readonly pubKey: string;
  /** Block at which the current window started (first tracked, or last reset); 0 when never tracked. */
  readonly startHeight: number;
  /** Signatures recorded since `startHeight` (the window counts once this reaches `window`). */
  readonly recordedBlocks: number;
  /** Misses among the last `window` recorded blocks. */
  readonly missedBlocks: number;
  readonly window: number;
  /** More misses than this in a full window is downtime. */
  readonly maxMissedBlocks: number;
  readonly jailed: boolean;
  readonly jailedUntilMs: number;
  readonly tombstoned: boolean;
}

/** `value` of a `slashing/punished` query (JSON): every validator ever punished, by address. */
export interface PunishedView {
  readonly validators: readonly (SlashingRecordView & {
    readonly address: string;
    readonly pubKey: string;
    readonly jailed: boolean;
    readonly jailedUntilMs: number;
    readonly tombstoned: boolean;
  })[];
}

/** The query paths the ledger answers. */
export const QUERY_PATHS = [
  'account',
  'validator',
  'validators',
  'unbonding',
  'params',
  'slashing/signing-info',
  'slashing/punished',
] as const;
export type QueryPath = (typeof QUERY_PATHS)[number];

export interface QueryAnswer {
  readonly code: LedgerQueryCode;
  readonly log: string;
  readonly value?: unknown;
}

const tag = (t: number, body: Uint8Array): Uint8Array => concat(Uint8Array.of(t), body);

function validatorView(v: ValidatorRecord, votingPower: number): ValidatorView {
  return {
    pubKey: toHex(v.pubKey),
    address: toHex(v.address),
    operator: toHex(v.operator),
    bondedStake: v.bondedStake.toString(),
    jailed: v.jailed,
    jailedUntilMs: v.jailedUntilMs,
    tombstoned: v.tombstoned,
    votingPower,
  };
}

function slashingRecordView(r: SlashingRecord | undefined): SlashingRecordView {
  if (r === undefined) return { downtimeJails: 0, equivocations: 0, totalBurned: '0', last: null };
  return {
    downtimeJails: r.downtimeJails,
    equivocations: r.equivocations,
    totalBurned: r.totalBurned.toString(),
    last: {
      height: r.lastHeight,
      reason: r.lastReason,
      slashAmount: r.lastSlashAmount.toString(),
      jailUntilMs: r.lastJailUntilMs,
    },
  };
}

async function slashingRecordOf(src: StateSource, address: Uint8Array): Promise<SlashingRecord | undefined> {
  const b = await src.get(tag(TABLE.slashingRecord, address));
  return b === undefined ? undefined : decodeSlashingRecord(b);
}

/** The validator named by a 32-byte public key or a 20-byte address, or a problem. */
async function findValidator(
  src: StateSource,
  data: Uint8Array,
  what: string,
): Promise<ValidatorRecord | QueryAnswer> {
  let pubKey: Uint8Array | undefined;
  if (data.length === 32) pubKey = data;
  else if (data.length === 20) pubKey = await src.get(tag(TABLE.validatorByAddress, data));
  else
    return {
      code: 'QUERY_BAD_DATA',
      log: `${what} query data must be a 32-byte public key or a 20-byte address`,
    };
  const b = pubKey === undefined ? undefined : await src.get(tag(TABLE.validator, pubKey));
  if (pubKey === undefined || b === undefined) return { code: 'QUERY_NOT_FOUND', log: 'no such validator' };
  return decodeValidator(pubKey, b);
}

const isAnswer = (x: ValidatorRecord | QueryAnswer): x is QueryAnswer => 'code' in x;

async function powerOf(src: StateSource, pubKey: Uint8Array): Promise<number> {
  const b = await src.get(tag(TABLE.activeSet, pubKey));
  return b === undefined ? 0 : readU64Number(b, 0);
}

function unbondingView(entries: readonly UnbondingEntry[]): UnbondingView {
  return {
    entries: entries.map((e) => ({
      validator: toHex(e.validatorPubKey),
      operator: toHex(e.operator),
      amount: e.amount.toString(),
      creationHeight: e.creationHeight,
      releaseHeight: e.releaseHeight,
    })),
  };
}

/** Answers one query from `src` (the state after block `height`). Never throws on bad input. */
export async function answerQuery(
  src: StateSource,
  path: string,
  data: Uint8Array,
  height: number,
): Promise<QueryAnswer> {
  switch (path) {
    case 'account': {
      if (data.length !== 20)
        return { code: 'QUERY_BAD_DATA', log: 'account query data must be a 20-byte address' };
      const b = await src.get(tag(TABLE.account, data));
      const a = b === undefined ? { balance: 0n, nonce: 0 } : decodeAccount(b);
      const view: AccountView = { address: toHex(data), balance: a.balance.toString(), nonce: a.nonce };
      return {
        code: 'OK',
        log: b === undefined ? 'account does not exist (zero balance, nonce 0)' : '',
        value: view,
      };
    }
    case 'validator': {
      const v = await findValidator(src, data, 'validator');
      if (isAnswer(v)) return v;
      return { code: 'OK', log: '', value: validatorView(v, await powerOf(src, v.pubKey)) };
    }
    case 'slashing/signing-info': {
      const v = await findValidator(src, data, 'slashing/signing-info');
      if (isAnswer(v)) return v;
      const cp = await src.get(Uint8Array.of(TABLE.consensusParams));
      if (cp === undefined) return { code: 'QUERY_NOT_INITIALIZED', log: 'no parameters yet' };
      const params = decodeConsensusParams(cp);
      const ib = await src.get(tag(TABLE.signingInfo, v.address));
      const info = ib === undefined ? undefined : decodeSigningInfo(ib);
      const view: SigningInfoView = {
        address: toHex(v.address),
        pubKey: toHex(v.pubKey),
        startHeight: info?.startHeight ?? 0,
        recordedBlocks: info?.recorded ?? 0,
        missedBlocks: info?.missedCount ?? 0,
        window: params.slashing.signedBlocksWindow,
        maxMissedBlocks: maxMissedBlocks(params),
        jailed: v.jailed,
        jailedUntilMs: v.jailedUntilMs,
        tombstoned: v.tombstoned,
        ...slashingRecordView(await slashingRecordOf(src, v.address)),
      };
      return { code: 'OK', log: info === undefined ? 'validator not tracked yet' : '', value: view };
    }
    case 'slashing/punished': {
      if (data.length !== 0)
        return { code: 'QUERY_BAD_DATA', log: 'slashing/punished query data must be empty' };
      const rows = await src.table(TABLE.slashingRecord);
      const validators: PunishedView['validators'][number][] = [];
      for (const r of rows) {
        const address = r.key.slice(1);
        const pubKey = await src.get(tag(TABLE.validatorByAddress, address));
        const vb = pubKey === undefined ? undefined : await src.get(tag(TABLE.validator, pubKey));
        if (pubKey === undefined || vb === undefined) continue;
        const v = decodeValidator(pubKey, vb);
        validators.push({
          address: toHex(address),
          pubKey: toHex(pubKey),
          jailed: v.jailed,
          jailedUntilMs: v.jailedUntilMs,
          tombstoned: v.tombstoned,
          ...slashingRecordView(decodeSlashingRecord(r.value)),
        });
      }
      const view: PunishedView = { validators };
      return { code: 'OK', log: '', value: view };
    }
    case 'validators': {
      const rows = await src.table(TABLE.activeSet);
      const members: { pubKey: string; address: string; power: number; addr: Uint8Array }[] = [];
      for (const r of rows) {
        const pubKey = r.key.subarray(1);
        const vb = await src.get(tag(TABLE.validator, pubKey));
        const addr = vb === undefined ? new Uint8Array(20) : decodeValidator(pubKey, vb).address;
        members.push({ pubKey: toHex(pubKey), address: toHex(addr), power: readU64Number(r.value, 0), addr });
      }
      members.sort((a, b) => compareBytes(a.addr, b.addr));
      const view: ValidatorSetView = {
        height,
        effectiveHeight: height + 2,
        totalPower: members.reduce((t, m) => t + m.power, 0),
        validators: members.map(({ pubKey, address, power }) => ({ pubKey, address, power })),
      };
      return { code: 'OK', log: '', value: view };
    }
    case 'unbonding': {
      if (data.length !== 0 && data.length !== 20) {
        return {
          code: 'QUERY_BAD_DATA',
          log: 'unbonding query data must be empty or a 20-byte operator address',
        };
      }
      const rows = await src.table(TABLE.unbonding);
      const entries = rows
        .map((r) => decodeUnbonding(readU64Number(r.key, 1), r.key.slice(9), r.value))
        .filter((e) => data.length === 0 || compareBytes(e.operator, data) === 0);
      return { code: 'OK', log: '', value: unbondingView(entries) };
    }
    case 'params': {
      const app = await src.get(Uint8Array.of(TABLE.appParams));
      const cp = await src.get(Uint8Array.of(TABLE.consensusParams));
      if (app === undefined || cp === undefined)
        return { code: 'QUERY_NOT_INITIALIZED', log: 'no parameters yet' };
      const a = decodeAppParams(app);
      const view: ParamsView = {
        chainId: a.chainId,
        minFee: a.minFee.toString(),
        maxTxBytes: a.maxTxBytes,
        initialHeight: a.initialHeight,
        powerReduction: POWER_REDUCTION.toString(),
        consensusParams: decodeConsensusParams(cp),
      };
      return { code: 'OK', log: '', value: view };
    }
    default:
      return {
        code: 'QUERY_UNKNOWN_PATH',
        log: `unknown query path '${path}'; known: ${QUERY_PATHS.join(', ')}`,
      };
  }
}

const TEXT = new TextEncoder();

/** The bytes of a query value: UTF-8 JSON (bigints as decimal strings, bytes as hex). */
export function encodeQueryValue(value: unknown): Uint8Array {
  return value === undefined ? new Uint8Array(0) : TEXT.encode(JSON.stringify(toJsonValue(value)));
}
