import { addressFromPublicKey, fromHex, publicKeyProblem, toHex } from '@synod/crypto';
import { LIMITS, SynodError } from '@synod/types';
import { MAX_U64 } from './bytes.js';
import { POWER_REDUCTION } from './staking.js';

/** Minimum fee when genesis does not set one (base units). */
export const DEFAULT_MIN_FEE = 1_000n;
/** Largest transaction when genesis does not set one (bytes); an encoded ledger tx is at most 483 bytes. */
export const DEFAULT_MAX_TX_BYTES = 1024;
const MIN_MAX_TX_BYTES = 128;

/** The ledger's part of genesis.json (`appState`). Amounts are decimal strings. */
export interface LedgerAppStateJson {
  minFee?: string;
  maxTxBytes?: number;
  accounts?: { address: string; balance: string }[];
  /** Self-bonded validators; when absent, the genesis validators are adopted (power × POWER_REDUCTION). */
  validators?: { pubKey: string; stake: string; operator?: string }[];
}

export interface LedgerGenesisAccount {
  readonly address: Uint8Array;
  readonly balance: bigint;
}

export interface LedgerGenesisValidator {
  readonly pubKey: Uint8Array;
  readonly stake: bigint;
  /** The validator's operator account (default: the address of its own key). */
  readonly operator: Uint8Array;
}

/** The validated appState. */
export interface LedgerGenesis {
  readonly minFee: bigint;
  readonly maxTxBytes: number;
  readonly accounts: readonly LedgerGenesisAccount[];
  /** Empty when genesis.json has none (the consensus genesis validators are adopted). */
  readonly validators: readonly LedgerGenesisValidator[];
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;

function parseAmount(x: unknown, what: string, problems: string[]): bigint | undefined {
  let v: bigint | undefined;
  if (typeof x === 'string' && DECIMAL.test(x)) v = BigInt(x);
  else if (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0) v = BigInt(x);
  if (v === undefined || v > MAX_U64) {
    problems.push(`${what} must be a decimal string of a uint64`);
    return undefined;
  }
  return v;
}

function parseHex(x: unknown, len: number, what: string, problems: string[]): Uint8Array | undefined {
  if (typeof x === 'string') {
    try {
      const b = fromHex(x);
      if (b.length === len) return b;
    } catch {
      // reported below
    }
  }
  problems.push(`${what} must be ${len} bytes of hex`);
  return undefined;
}

function unknownFields(
  o: Record<string, unknown>,
  known: readonly string[],
  what: string,
  problems: string[],
): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) problems.push(`${what}.${k} is not a known field`);
}

/**
 * Validates the ledger's appState. Throws GENESIS_INVALID listing every
 * problem: unknown fields, malformed hex, amounts that are not uint64 decimal
 * strings, duplicate accounts or validators, a validator stake that gives no
 * voting power, a total supply above 2^64 - 1.
 */
export function parseLedgerAppState(appState: unknown): LedgerGenesis {
  const problems: string[] = [];
  const s = appState ?? {};
  if (!isRecord(s)) throw new SynodError('GENESIS_INVALID', 'appState must be a JSON object');
  unknownFields(s, ['minFee', 'maxTxBytes', 'accounts', 'validators'], 'appState', problems);
  const minFee =
    s.minFee === undefined ? DEFAULT_MIN_FEE : parseAmount(s.minFee, 'appState.minFee', problems);
  const maxTxBytes = s.maxTxBytes ?? DEFAULT_MAX_TX_BYTES;
  if (
    typeof maxTxBytes !== 'number' ||
    !Number.isSafeInteger(maxTxBytes) ||
    maxTxBytes < MIN_MAX_TX_BYTES ||
    maxTxBytes > LIMITS.txBytesMax
  ) {
    problems.push(`appState.maxTxBytes must be an integer in [${MIN_MAX_TX_BYTES}, ${LIMITS.txBytesMax}]`);
  }
  let supply = 0n;
  const accounts: LedgerGenesisAccount[] = [];
  const seenAccounts = new Set<string>();
  if (s.accounts !== undefined && !Array.isArray(s.accounts))
    problems.push('appState.accounts must be an array');
  if (Array.isArray(s.accounts)) {
    s.accounts.forEach((a: unknown, i: number) => {
      const what = `appState.accounts[${i}]`;
      if (!isRecord(a)) {
        problems.push(`${what} must be an object`);
        return;
      }
      unknownFields(a, ['address', 'balance'], what, problems);
      const address = parseHex(a.address, 20, `${what}.address`, problems);
      const balance = parseAmount(a.balance, `${what}.balance`, problems);
      if (address === undefined || balance === undefined) return;
      const id = toHex(address);
      if (seenAccounts.has(id)) problems.push(`${what}.address ${id} is a duplicate`);
      seenAccounts.add(id);
      supply += balance;
      accounts.push({ address, balance });
    });
  }
  const validators: LedgerGenesisValidator[] = [];
  const seenValidators = new Set<string>();
  if (s.validators !== undefined && !Array.isArray(s.validators))
    problems.push('appState.validators must be an array');
  if (Array.isArray(s.validators)) {
    s.validators.forEach((v: unknown, i: number) => {
      const what = `appState.validators[${i}]`;
      if (!isRecord(v)) {
        problems.push(`${what} must be an object`);
        return;
      }
      unknownFields(v, ['pubKey', 'stake', 'operator'], what, problems);
      const pubKey = parseHex(v.pubKey, 32, `${what}.pubKey`, problems);
      const stake = parseAmount(v.stake, `${what}.stake`, problems);
      const operator =
        v.operator === undefined
          ? pubKey === undefined
            ? undefined
            : addressFromPublicKey(pubKey)
          : parseHex(v.operator, 20, `${what}.operator`, problems);
      if (pubKey === undefined || stake === undefined || operator === undefined) return;
      const keyProblem = publicKeyProblem(pubKey);
      if (keyProblem !== undefined) problems.push(`${what}.pubKey: ${keyProblem}`);
      const id = toHex(addressFromPublicKey(pubKey));
      if (seenValidators.has(id)) problems.push(`${what}.pubKey is a duplicate`);
      seenValidators.add(id);
      if (stake < POWER_REDUCTION)
        problems.push(`${what}.stake must be at least ${POWER_REDUCTION} (1 voting power)`);
      supply += stake;
      validators.push({ pubKey, stake, operator });
    });
  }
  if (supply > MAX_U64) problems.push('total supply (balances + stakes) exceeds 2^64 - 1');
  if (problems.length > 0) {
    throw new SynodError('GENESIS_INVALID', `ledger appState is invalid:\n- ${problems.join('\n- ')}`, {
      details: { problems },
    });
  }
  return { minFee: minFee as bigint, maxTxBytes: maxTxBytes as number, accounts, validators };
}

/** Input of `ledgerAppState`. */
export interface LedgerAppStateInput {
  readonly minFee?: bigint;
  readonly maxTxBytes?: number;
  readonly accounts?: readonly { readonly address: Uint8Array; readonly balance: bigint }[];
  readonly validators?: readonly {
    readonly pubKey: Uint8Array;
    readonly stake: bigint;
    readonly operator?: Uint8Array;
  }[];
}

/** Builds the appState JSON of genesis.json (for `init` / `testnet` and tests). */
export function ledgerAppState(input: LedgerAppStateInput): LedgerAppStateJson {
  const out: LedgerAppStateJson = {};
  if (input.minFee !== undefined) out.minFee = input.minFee.toString();
  if (input.maxTxBytes !== undefined) out.maxTxBytes = input.maxTxBytes;
  if (input.accounts !== undefined) {
    out.accounts = input.accounts.map((a) => ({ address: toHex(a.address), balance: a.balance.toString() }));
  }
  if (input.validators !== undefined) {
    out.validators = input.validators.map((v) => ({
      pubKey: toHex(v.pubKey),
      stake: v.stake.toString(),
      ...(v.operator === undefined ? {} : { operator: toHex(v.operator) }),
    }));
  }
  return out;
}
