import { addressFromPublicKey, publicKeyProblem, toHex } from '@synod/crypto';
import { type ConsensusParams, decodeTx, isSynodError, type Tx, type TxMsg, txSignBytes } from '@synod/types';
import { equalBytes } from './bytes.js';
import { resetSigningInfo } from './downtime.js';
import type { LedgerState } from './ledger-state.js';
import { keys, type LedgerAppParams, newValidator } from './records.js';
import type { SignatureCache } from './signature-cache.js';
import { unjail, unjailProblem } from './slashing.js';
import { POWER_REDUCTION, startUnbonding } from './staking.js';
import type { StatelessCache } from './stateless-cache.js';
import type { LedgerTxCode, TxStage } from './tx-codes.js';

/**
 * Gas schedule: a transaction needs `base + perByte × size + <its message>`.
 * Gas is known before execution (there is no metering), so too little gas is
 * a rejection, not an out-of-gas failure.
 */
export const GAS_COSTS = Object.freeze({
  base: 1_000,
  perByte: 10,
  transfer: 1_000,
  bond: 10_000,
  unbond: 10_000,
  unjail: 10_000,
});

export function gasRequired(msg: TxMsg, sizeBytes: number): number {
  return GAS_COSTS.base + GAS_COSTS.perByte * sizeBytes + GAS_COSTS[msg.kind];
}

/** What a transaction is executed against. */
export interface ExecContext {
  readonly app: LedgerAppParams;
  readonly params: ConsensusParams;
  /** Height of the block (for checkTx: the next block). */
  readonly height: number;
  /** Block time (for checkTx: the last block's time). */
  readonly timeMs: number;
  readonly signatures: SignatureCache;
  /** The Ed25519 (ZIP-215) check of transaction signatures (`LedgerOptions.verifySignature`). */
  readonly verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;
  /** Passing stateless results, keyed by the transaction's bytes (absent: every check runs in full). */
  readonly stateless?: StatelessCache;
}

export interface TxEvent {
  readonly type: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** A transaction that passed the stateless checks. */
export interface CheckedTx {
  readonly tx: Tx;
  /** Sender address (20 bytes). */
  readonly sender: Uint8Array;
  /** The sender address in hex (event attributes, the check state's fees). */
  readonly senderHex: string;
  /** The sender account's state key (`keys.account(sender)`). */
  readonly senderKey: string;
  readonly size: number;
  readonly gas: number;
}

export interface TxOutcome {
  readonly stage: TxStage;
  readonly code: LedgerTxCode;
  readonly log: string;
  readonly gasUsed: number;
  readonly fee: bigint;
  readonly events: readonly TxEvent[];
  /** Present when the transaction decoded. */
  readonly checked?: CheckedTx;
}

type Stateless = { readonly ok: true; readonly checked: CheckedTx } | TxFailure;

interface TxFailure {
  readonly ok: false;
  readonly code: LedgerTxCode;
  readonly log: string;
  readonly checked?: CheckedTx;
}

const fail = (code: LedgerTxCode, log: string, checked?: CheckedTx): TxFailure =>
  checked === undefined ? { ok: false, code, log } : { ok: false, code, log, checked };

/**
 * Checks that need no state: size, decoding, chain id, gas, fee floor,
 * amounts, signature (the expensive one, last). A pass is remembered in
 * `ctx.stateless` (when given) and answered from it for the same bytes.
 * Never throws.
 */
export function checkStateless(bytes: Uint8Array, ctx: ExecContext): Stateless {
  const cache = ctx.stateless;
  if (cache === undefined || !(bytes instanceof Uint8Array)) return runStateless(bytes, ctx);
  return cache.check(bytes, ctx, () => runStateless(bytes, ctx));
}

function runStateless(bytes: Uint8Array, ctx: ExecContext): Stateless {
  if (!(bytes instanceof Uint8Array)) return fail('TX_MALFORMED', 'transaction is not bytes');
  if (bytes.length > ctx.app.maxTxBytes) {
    return fail('TX_TOO_LARGE', `transaction is ${bytes.length} bytes; the limit is ${ctx.app.maxTxBytes}`);
  }
  let tx: Tx;
  try {
    tx = decodeTx(bytes, ctx.app.maxTxBytes);
  } catch (err) {
    if (isSynodError(err, 'DECODE_TOO_LARGE')) return fail('TX_TOO_LARGE', err.message);
    return fail('TX_MALFORMED', err instanceof Error ? err.message : 'cannot decode transaction');
  }
  const body = tx.body;
  const sender = addressFromPublicKey(body.sender);
  const checked: CheckedTx = {
    tx,
    sender,
    senderHex: toHex(sender),
    senderKey: keys.account(sender),
    size: bytes.length,
    gas: gasRequired(body.msg, bytes.length),
  };
  if (body.chainId !== ctx.app.chainId) {
    return fail(
      'TX_WRONG_CHAIN',
      `transaction is for chain '${body.chainId}', this is '${ctx.app.chainId}'`,
      checked,
    );
  }
  if (body.gasLimit < checked.gas) {
    return fail(
      'TX_GAS_TOO_LOW',
      `gas limit ${body.gasLimit} is below the ${checked.gas} this transaction needs`,
      checked,
    );
  }
  if (body.gasLimit > ctx.params.block.maxGas) {
    return fail(
      'TX_GAS_TOO_HIGH',
      `gas limit ${body.gasLimit} exceeds the block limit ${ctx.params.block.maxGas}`,
      checked,
    );
  }
  if (body.fee < ctx.app.minFee) {
    return fail('TX_FEE_TOO_LOW', `fee ${body.fee} is below the minimum fee ${ctx.app.minFee}`, checked);
  }
  if (body.msg.kind !== 'unjail' && body.msg.amount === 0n) {
    return fail('TX_INVALID_AMOUNT', `${body.msg.kind} amount must be positive`, checked);
  }
  const valid = ctx.signatures.check(bytes, () =>
    ctx.verify(body.sender, txSignBytes(body.chainId, body), tx.signature),
  );
  if (!valid) return fail('TX_BAD_SIGNATURE', 'signature does not verify for the sender key', checked);
  return { ok: true, checked };
}

/** Why the sender cannot pay, or undefined. */
function feeProblem(balance: bigint, fee: bigint): string | undefined {
  return balance < fee ? `balance ${balance} cannot pay the fee ${fee}` : undefined;
}

type MsgResult = { readonly ok: true; readonly events: TxEvent[] } | TxFailure;

/** Applies the message of a fee-paying transaction; on failure the caller drops `state`. */
function applyMsg(state: LedgerState, c: CheckedTx, ctx: ExecContext): MsgResult {
  const msg = c.tx.body.msg;
  const sender = c.sender;
  const senderHex = c.senderHex;
  const debit = (amount: bigint): TxFailure | undefined => {
    const a = state.accountAt(c.senderKey);
    if (a.balance < amount) {
      return fail(
        'TX_INSUFFICIENT_FUNDS',
        `balance ${a.balance} after the fee is below the amount ${amount}`,
        c,
      );
    }
    state.setAccountAt(c.senderKey, { balance: a.balance - amount, nonce: a.nonce });
    return undefined;
  };
  switch (msg.kind) {
    case 'transfer': {
      const problem = debit(msg.amount);
      if (problem !== undefined) return problem;
      const to = state.account(msg.to);
      state.setAccount(msg.to, { balance: to.balance + msg.amount, nonce: to.nonce });
      return {
        ok: true,
        events: [
          {
            type: 'transfer',
            attributes: { from: senderHex, to: toHex(msg.to), amount: msg.amount.toString() },
          },
        ],
      };
    }
    case 'bond': {
      const v = state.validator(msg.validatorPubKey);
      if (v === undefined) {
        if (msg.amount < POWER_REDUCTION) {
          return fail(
            'TX_BOND_TOO_SMALL',
            `a new validator needs a first bond of at least ${POWER_REDUCTION}`,
            c,
          );
        }
        // Under ZIP-215 anyone can sign as a small-order or torsioned key: never let one in the set.
        const keyProblem = publicKeyProblem(msg.validatorPubKey);
        if (keyProblem !== undefined) return fail('TX_BAD_VALIDATOR_KEY', keyProblem, c);
        const created = newValidator(msg.validatorPubKey, sender, 0n);
        if (state.validatorByAddress(created.address) !== undefined) {
          return fail('TX_VALIDATOR_EXISTS', 'another validator key has the same address', c);
        }
        const problem = debit(msg.amount);
        if (problem !== undefined) return problem;
        state.setValidator({ ...created, bondedStake: msg.amount });
      } else {
        if (!equalBytes(v.operator, sender)) {
          return fail(
            'TX_NOT_OPERATOR',
            `only the validator's operator ${toHex(v.operator)} may bond to it`,
            c,
          );
        }
        if (v.tombstoned) return fail('TX_TOMBSTONED', 'validator is tombstoned; it cannot take stake', c);
        const problem = debit(msg.amount);
        if (problem !== undefined) return problem;
        state.setValidator({ ...v, bondedStake: v.bondedStake + msg.amount });
      }
      return {
        ok: true,
        events: [
          {
            type: 'bond',
            attributes: {
              validator: toHex(msg.validatorPubKey),
              operator: senderHex,
              amount: msg.amount.toString(),
            },
          },
        ],
      };
    }
    case 'unbond': {
      const v = state.validator(msg.validatorPubKey);
      if (v === undefined) return fail('TX_UNKNOWN_VALIDATOR', 'no validator with this public key', c);
      if (!equalBytes(v.operator, sender)) {
        return fail('TX_NOT_OPERATOR', `only the validator's operator ${toHex(v.operator)} may unbond`, c);
      }
      if (msg.amount > v.bondedStake) {
        return fail(
          'TX_INSUFFICIENT_STAKE',
          `amount ${msg.amount} exceeds the bonded stake ${v.bondedStake}`,
          c,
        );
      }
      const entry = startUnbonding(state, v, msg.amount, ctx.height, ctx.params);
      return {
        ok: true,
        events: [
          {
            type: 'unbond',
            attributes: {
              validator: toHex(msg.validatorPubKey),
              operator: senderHex,
              amount: msg.amount.toString(),
              releaseHeight: String(entry.releaseHeight),
            },
          },
        ],
      };
    }
    case 'unjail': {
      const v = state.validator(msg.validatorPubKey);
      if (v === undefined) return fail('TX_UNKNOWN_VALIDATOR', 'no validator with this public key', c);
      if (!equalBytes(v.operator, sender)) {
        return fail('TX_NOT_OPERATOR', `only the validator's operator ${toHex(v.operator)} may unjail it`, c);
      }
      const problem = unjailProblem(v, ctx.timeMs);
      if (problem !== undefined) return fail(problem.code, problem.log, c);
      state.setValidator(unjail(v));
      // Downtime tracking restarts from an empty window.
      resetSigningInfo(state, v.address, ctx.height, ctx.params);
      return {
        ok: true,
        events: [{ type: 'unjail', attributes: { validator: toHex(msg.validatorPubKey) } }],
      };
    }
    default:
      return fail('TX_MALFORMED', 'unknown message kind', c);
  }
}

function rejected(f: TxFailure): TxOutcome {
  const base = { stage: 'rejected' as const, code: f.code, log: f.log, gasUsed: 0, fee: 0n, events: [] };
  return f.checked === undefined ? base : { ...base, checked: f.checked };
}

/**
 * Executes one transaction of a block on `state` (a branch the caller keeps
 * unless the outcome is `rejected`): stateless checks, nonce == the account's
 * next nonce, the fee is affordable; then the fee is charged and the nonce
 * used; then the message runs on a sub-branch that is dropped if it fails.
 * Never throws on bad input.
 */
export function executeTx(state: LedgerState, bytes: Uint8Array, ctx: ExecContext): TxOutcome {
  const s = checkStateless(bytes, ctx);
  if (!s.ok) return rejected(s);
  const c = s.checked;
  const body = c.tx.body;
  const account = state.accountAt(c.senderKey);
  if (body.nonce !== account.nonce) {
    return rejected(
      fail('TX_BAD_NONCE', `nonce ${body.nonce} is not the account's next nonce ${account.nonce}`, c),
    );
  }
  const noFee = feeProblem(account.balance, body.fee);
  if (noFee !== undefined) return rejected(fail('TX_INSUFFICIENT_FUNDS', noFee, c));
  state.setAccountAt(c.senderKey, { balance: account.balance - body.fee, nonce: account.nonce + 1 });
  const feeEvent: TxEvent = {
    type: 'fee',
    attributes: { payer: c.senderHex, amount: body.fee.toString() },
  };
  const msgState = state.branch();
  const r = applyMsg(msgState, c, ctx);
  const paid = { gasUsed: c.gas, fee: body.fee, checked: c };
  if (!r.ok) return { stage: 'failed', code: r.code, log: r.log, events: [feeEvent], ...paid };
  msgState.commitTo(state);
  return { stage: 'ok', code: 'OK', log: '', events: [feeEvent, ...r.events], ...paid };
}

/** How far ahead of the account's next nonce checkTx accepts a transaction (default). */
export const DEFAULT_MAX_NONCE_AHEAD = 64;

/**
 * The mempool's check against the committed state. The nonce may be ahead of
 * the account's next nonce by up to `maxNonceAhead` (the mempool holds such
 * transactions until the gap closes); the balance must pay this fee on top of
 * the fees of the sender's other pending transactions (`pendingFees`, at other
 * nonces); a transaction at exactly the next nonce is also dry-run (fee and
 * message) on a throwaway branch, so one that would fail is refused. Never
 * throws on bad input.
 */
export function checkTxAgainst(
  committed: LedgerState,
  bytes: Uint8Array,
  ctx: ExecContext,
  maxNonceAhead: number,
  pendingFees: (c: CheckedTx) => bigint = () => 0n,
): TxOutcome {
  const s = checkStateless(bytes, ctx);
  if (!s.ok) return rejected(s);
  const c = s.checked;
  const body = c.tx.body;
  const account = committed.accountAt(c.senderKey);
  if (body.nonce < account.nonce) {
    return rejected(
      fail('TX_BAD_NONCE', `nonce ${body.nonce} was already used; the next is ${account.nonce}`, c),
    );
  }
  if (body.nonce > account.nonce + maxNonceAhead) {
    const log = `nonce ${body.nonce} is more than ${maxNonceAhead} ahead of the next nonce ${account.nonce}`;
    return rejected(fail('TX_BAD_NONCE', log, c));
  }
  const noFee = feeProblem(account.balance, body.fee);
  if (noFee !== undefined) return rejected(fail('TX_INSUFFICIENT_FUNDS', noFee, c));
  // The fees of the sender's other pending transactions come first: together
  // they may not exceed the balance (else one account holds every slot up to
  // maxNonceAhead at full priority for the price of one fee).
  const others = pendingFees(c);
  if (others > 0n && account.balance - others < body.fee) {
    const log = `balance ${account.balance} cannot pay the fee ${body.fee} on top of ${others} of pending fees`;
    return rejected(fail('TX_INSUFFICIENT_FUNDS', log, c));
  }
  if (body.nonce > account.nonce) {
    return { stage: 'ok', code: 'OK', log: '', events: [], gasUsed: c.gas, fee: body.fee, checked: c };
  }
  const dryRun = executeTx(committed.branch(), bytes, ctx);
  return dryRun.stage === 'ok' ? dryRun : rejected(fail(dryRun.code, dryRun.log, c));
}
