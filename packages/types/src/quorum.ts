/**
 * The quorum rule, exact for every safe-integer power: one implementation for
 * the whole node (consensus' vote keeper, commit verification, light checks).
 * Integer arithmetic in bigint — `power * 3 > total * 2` in floating point is
 * wrong once the products pass 2^53 (e.g. a total of 2^52).
 */

function big(value: number, what: string): bigint {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${what} must be a non-negative safe integer`);
  return BigInt(value);
}

/** `power` is strictly more than 2/3 of `total` (exact). */
export function hasTwoThirdsMajority(power: number | bigint, total: number | bigint): boolean {
  const p = typeof power === 'bigint' ? power : big(power, 'power');
  const t = typeof total === 'bigint' ? total : big(total, 'total');
  return p * 3n > t * 2n;
}

/** `power` is strictly more than 1/3 of `total` (exact). */
export function hasMoreThanOneThird(power: number | bigint, total: number | bigint): boolean {
  const p = typeof power === 'bigint' ? power : big(power, 'power');
  const t = typeof total === 'bigint' ? total : big(total, 'total');
  return p * 3n > t;
}

/**
 * Thresholds by voting power. `quorum` is the least power that is more than
 * 2/3 of the total (2f+1); `oneThird` the least that is more than 1/3 (f+1):
 * `power >= quorum` ⇔ `hasTwoThirdsMajority(power, total)`.
 */
export interface PowerThresholds {
  readonly total: number;
  readonly quorum: number;
  readonly oneThird: number;
}

export function powerThresholds(total: number): PowerThresholds {
  if (!Number.isSafeInteger(total) || total <= 0)
    throw new RangeError('total voting power must be a positive integer');
  const t = BigInt(total);
  return { total, quorum: Number((2n * t) / 3n) + 1, oneThird: Number(t / 3n) + 1 };
}
