/**
 * Result codes. Synod's are names (`'OK'`, `'TX_BAD_NONCE'`, …); CometBFT's
 * are uint32 numbers (0 = OK) qualified by a `codespace` string. The RPC
 * answers with both: `code` is the number below (0 for OK) and `codespace`
 * the Synod name (empty for OK), so a client can key on either.
 *
 * The numbers of the codes Synod's packages produce are fixed here (the
 * mempool's own rejections, then @synod/ledger's transaction and query
 * codes); any other name — another application's — gets a stable number
 * ≥ 1000 derived from the name (FNV-1a, so the same name always maps to the
 * same number on every node).
 */

/** Fixed numbers of the codes Synod's own packages produce. Never renumber: clients may store them. */
export const RESULT_CODE_NUMBERS: Readonly<Record<string, number>> = Object.freeze({
  OK: 0,
  // @synod/mempool's own rejections
  DUPLICATE: 1,
  TX_TOO_LARGE: 2,
  MEMPOOL_FULL: 3,
  NONCE_CONFLICT: 4,
  TX_INVALID: 5,
  // @synod/ledger's transaction codes
  TX_MALFORMED: 10,
  TX_WRONG_CHAIN: 11,
  TX_GAS_TOO_LOW: 12,
  TX_GAS_TOO_HIGH: 13,
  TX_FEE_TOO_LOW: 14,
  TX_INVALID_AMOUNT: 15,
  TX_BAD_SIGNATURE: 16,
  TX_BAD_NONCE: 17,
  TX_INSUFFICIENT_FUNDS: 18,
  TX_UNKNOWN_VALIDATOR: 19,
  TX_NOT_OPERATOR: 20,
  TX_INSUFFICIENT_STAKE: 21,
  TX_BOND_TOO_SMALL: 22,
  TX_BAD_VALIDATOR_KEY: 23,
  TX_VALIDATOR_EXISTS: 24,
  TX_TOMBSTONED: 25,
  TX_NOT_JAILED: 26,
  TX_JAILED_TOO_EARLY: 27,
  TX_INTERNAL_ERROR: 28,
  // @synod/ledger's query codes
  QUERY_UNKNOWN_PATH: 40,
  QUERY_BAD_DATA: 41,
  QUERY_NOT_FOUND: 42,
  QUERY_HEIGHT_PRUNED: 43,
  QUERY_HEIGHT_UNAVAILABLE: 44,
  QUERY_NOT_INITIALIZED: 45,
});

/** First number of codes outside the table. */
export const DERIVED_CODE_BASE = 1000;

/** The CometBFT `code` (uint32) of a Synod result code name. */
export function resultCodeNumber(name: string): number {
  const fixed = RESULT_CODE_NUMBERS[name];
  if (fixed !== undefined) return fixed;
  // FNV-1a (32-bit) of the name's UTF-16 code units, folded into [1000, 2^31).
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return DERIVED_CODE_BASE + (h % (0x7fffffff - DERIVED_CODE_BASE));
}

/** `code` and `codespace` of a Synod result code name. */
export function cometCode(name: string): { readonly code: number; readonly codespace: string } {
  return name === 'OK' ? { code: 0, codespace: '' } : { code: resultCodeNumber(name), codespace: name };
}
