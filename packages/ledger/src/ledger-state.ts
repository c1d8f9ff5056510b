import { keyBytes, readU64Number, u64 } from './bytes.js';
import {
  type Account,
  decodeAccount,
  decodeInfraction,
  decodeSigningInfo,
  decodeSlashingRecord,
  decodeUnbonding,
  decodeValidator,
  EMPTY_ACCOUNT,
  type EquivocationKind,
  encodeAccount,
  encodeInfraction,
  encodeSigningInfo,
  encodeSlashingRecord,
  encodeUnbonding,
  encodeValidator,
  type InfractionRecord,
  keys,
  type SlashingRecord,
  TABLE,
  type UnbondingEntry,
  type ValidatorRecord,
  type ValidatorSigningInfo,
} from './records.js';
import { Overlay, type StateReader } from './state-store.js';

/** A validator of the set last returned to consensus. */
export interface ActiveValidator {
  readonly pubKey: Uint8Array;
  readonly power: number;
}

function sortedKeys(reader: StateReader, tag: number): string[] {
  return [...reader.keysOf(tag)].sort();
}

/**
 * Typed reads and writes of the ledger's state over an overlay. Everything
 * the state machine (and the slashing hooks) does goes through this class, so
 * a block or a transaction can be run on a branch and then kept or dropped.
 * Enumerations are in key order, never in insertion order.
 */
export class LedgerState {
  private readonly store: Overlay;

  constructor(parent: StateReader) {
    this.store = new Overlay(parent);
  }

  /** A branch of this state: its writes reach this state only through `commit()`. */
  branch(): LedgerState {
    return new LedgerState(this.store);
  }

  /** Moves this branch's writes into `parent` (the state it was branched from). */
  commitTo(parent: LedgerState): void {
    this.store.mergeInto(parent.store);
  }

  /** The buffered writes (key order); `null` is a deletion. */
  changes(): [string, Uint8Array | null][] {
    return this.store.changes();
  }

  /** True when this branch wrote any validator record. */
  validatorsChanged(): boolean {
    return this.store.touches(TABLE.validator);
  }

  account(address: Uint8Array): Account {
    return this.accountAt(keys.account(address));
  }

  /** The account under its state key (`keys.account(address)`, for callers that keep it). */
  accountAt(key: string): Account {
    const b = this.store.get(key);
    return b === undefined ? EMPTY_ACCOUNT : decodeAccount(b);
  }

  /** Writes an account; an account with no balance and nonce 0 is removed from the state. */
  setAccount(address: Uint8Array, a: Account): void {
    this.setAccountAt(keys.account(address), a);
  }

  /** `setAccount` under the account's state key (`keys.account(address)`). */
  setAccountAt(key: string, a: Account): void {
    if (a.balance < 0n) throw new RangeError('negative balance');
    if (a.balance === 0n && a.nonce === 0) this.store.delete(key);
    else this.store.set(key, encodeAccount(a));
  }

  validator(pubKey: Uint8Array): ValidatorRecord | undefined {
    const b = this.store.get(keys.validator(pubKey));
    return b === undefined ? undefined : decodeValidator(pubKey, b);
  }

  validatorByAddress(address: Uint8Array): ValidatorRecord | undefined {
    const pk = this.store.get(keys.validatorByAddress(address));
    return pk === undefined ? undefined : this.validator(pk);
  }

  setValidator(v: ValidatorRecord): void {
    if (v.bondedStake < 0n) throw new RangeError('negative stake');
    this.store.set(keys.validator(v.pubKey), encodeValidator(v));
    this.store.set(keys.validatorByAddress(v.address), v.pubKey);
  }

  /** Every validator record, by public key. */
  validators(): ValidatorRecord[] {
    return sortedKeys(this.store, TABLE.validator).map((k) => {
      const pubKey = keyBytes(k).subarray(1);
      return decodeValidator(pubKey, this.store.get(k) as Uint8Array);
    });
  }

  unbonding(releaseHeight: number, pubKey: Uint8Array): UnbondingEntry | undefined {
    const b = this.store.get(keys.unbonding(releaseHeight, pubKey));
    return b === undefined ? undefined : decodeUnbonding(releaseHeight, pubKey, b);
  }

  /** Every unbonding entry, by release height then validator public key. */
  unbondingEntries(): UnbondingEntry[] {
    return sortedKeys(this.store, TABLE.unbonding).map((k) => {
      const kb = keyBytes(k);
      return decodeUnbonding(readU64Number(kb, 1), kb.subarray(9), this.store.get(k) as Uint8Array);
    });
  }

  /** Writes an entry; an entry with nothing left in it is removed. */
  setUnbonding(e: UnbondingEntry): void {
    const k = keys.unbonding(e.releaseHeight, e.validatorPubKey);
    if (e.amount === 0n) this.store.delete(k);
    else this.store.set(k, encodeUnbonding(e));
  }

  deleteUnbonding(e: UnbondingEntry): void {
    this.store.delete(keys.unbonding(e.releaseHeight, e.validatorPubKey));
  }

  /** The validator set last returned to consensus, by public key. */
  activeSet(): ActiveValidator[] {
    return sortedKeys(this.store, TABLE.activeSet).map((k) => ({
      pubKey: keyBytes(k).subarray(1),
      power: readU64Number(this.store.get(k) as Uint8Array, 0),
    }));
  }

  setActivePower(pubKey: Uint8Array, power: number): void {
    const k = keys.activeSet(pubKey);
    if (power === 0) this.store.delete(k);
    else this.store.set(k, u64(power));
  }

  /** The downtime window of the validator at `address` (undefined until it is first tracked). */
  signingInfo(address: Uint8Array): ValidatorSigningInfo | undefined {
    const b = this.store.get(keys.signingInfo(address));
    return b === undefined ? undefined : decodeSigningInfo(b);
  }

  setSigningInfo(address: Uint8Array, info: ValidatorSigningInfo): void {
    this.store.set(keys.signingInfo(address), encodeSigningInfo(info));
  }

  /** The record of a handled equivocation (undefined when it was never punished). */
  infraction(
    address: Uint8Array,
    kind: EquivocationKind,
    infractionHeight: number,
  ): InfractionRecord | undefined {
    const b = this.store.get(keys.infraction(address, kind, infractionHeight));
    return b === undefined ? undefined : decodeInfraction(b);
  }

  setInfraction(
    address: Uint8Array,
    kind: EquivocationKind,
    infractionHeight: number,
    record: InfractionRecord,
  ): void {
    this.store.set(keys.infraction(address, kind, infractionHeight), encodeInfraction(record));
  }

  /** The punishment counters of the validator at `address` (undefined when never punished). */
  slashingRecord(address: Uint8Array): SlashingRecord | undefined {
    const b = this.store.get(keys.slashingRecord(address));
    return b === undefined ? undefined : decodeSlashingRecord(b);
  }

  setSlashingRecord(address: Uint8Array, record: SlashingRecord): void {
    this.store.set(keys.slashingRecord(address), encodeSlashingRecord(record));
  }

  /** Raw read, for parameters. */
  raw(key: string): Uint8Array | undefined {
    return this.store.get(key);
  }

  /** Raw write, for parameters. */
  setRaw(key: string, value: Uint8Array): void {
    this.store.set(key, value);
  }
}

const EMPTY_READER: StateReader = { get: () => undefined, keysOf: () => [] };

/** A LedgerState over an empty state (for tests of the hooks, and tools). */
export function emptyLedgerState(): LedgerState {
  return new LedgerState(EMPTY_READER);
}
