/**
 * Every result code a transaction can get from the ledger (bounded, UPPER_SNAKE,
 * safe as a metric label). `stage` says what happened to the state:
 * - `rejected`: nothing changed (no fee, no nonce);
 * - `failed`: the fee was charged and the nonce used, the message had no effect;
 * - `ok`: applied.
 */
export const LEDGER_TX_CODES = [
  'OK',
  'TX_TOO_LARGE',
  'TX_MALFORMED',
  'TX_WRONG_CHAIN',
  'TX_GAS_TOO_LOW',
  'TX_GAS_TOO_HIGH',
  'TX_FEE_TOO_LOW',
  'TX_INVALID_AMOUNT',
  'TX_BAD_SIGNATURE',
  'TX_BAD_NONCE',
  'TX_INSUFFICIENT_FUNDS',
  'TX_UNKNOWN_VALIDATOR',
  'TX_NOT_OPERATOR',
  'TX_INSUFFICIENT_STAKE',
  'TX_BOND_TOO_SMALL',
  'TX_BAD_VALIDATOR_KEY',
  'TX_VALIDATOR_EXISTS',
  'TX_TOMBSTONED',
  'TX_NOT_JAILED',
  'TX_JAILED_TOO_EARLY',
  'TX_INTERNAL_ERROR',
] as const;

export type LedgerTxCode = (typeof LEDGER_TX_CODES)[number];

export type TxStage = 'rejected' | 'failed' | 'ok';

/** Result codes of `query`. */
export const LEDGER_QUERY_CODES = [
  'OK',
  'QUERY_UNKNOWN_PATH',
  'QUERY_BAD_DATA',
  'QUERY_NOT_FOUND',
  'QUERY_HEIGHT_PRUNED',
  'QUERY_HEIGHT_UNAVAILABLE',
  'QUERY_NOT_INITIALIZED',
] as const;

export type LedgerQueryCode = (typeof LEDGER_QUERY_CODES)[number];
