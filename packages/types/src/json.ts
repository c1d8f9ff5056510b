import { toHex } from '@synod/crypto';

/**
 * A JSON-friendly view of any domain value for RPC and logs: Uint8Array →
 * lowercase hex, bigint → decimal string, everything else unchanged.
 */
export function toJsonValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return toHex(value);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJsonValue(v);
    return out;
  }
  return value;
}
