/**
 * Loads the public Ed25519 test vectors from /work/shared/vectors/ed25519/
 * (outside the repository, read at test time, never copied in) and the
 * expected outcome of each under Synod's rule: the `cometbft_zip215` profile
 * of ed25519-verifier-profiles.json.
 */

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromHex } from '../src/bytes.js';

/** packages/crypto/test/ -> ../../../../ = the directory that holds both `main/` and `shared/`. */
export const VECTORS_DIR = new URL('../../../../shared/vectors/ed25519/', import.meta.url);

export interface VerifyCase {
  /** e.g. "wycheproof tcId 151" */
  readonly name: string;
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  /** Expected result under ZIP-215 (the `cometbft_zip215` profile). */
  readonly expected: boolean;
}

function load(file: string): unknown {
  const url = new URL(file, VECTORS_DIR);
  try {
    return JSON.parse(readFileSync(url, 'utf8'));
  } catch (err) {
    throw new Error(`cannot load test vectors ${fileURLToPath(url)}`, { cause: err });
  }
}

function obj(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${what}: not an object`);
  return value as Record<string, unknown>;
}

function arr(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what}: not an array`);
  return value;
}

function str(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what}: not a string`);
  return value;
}

function num(value: unknown, what: string): number {
  if (typeof value !== 'number') throw new Error(`${what}: not a number`);
  return value;
}

function nums(value: unknown, what: string): Set<number> {
  return new Set(arr(value, what).map((v) => num(v, what)));
}

function bools(value: unknown, what: string): boolean[] {
  return arr(value, what).map((v) => {
    if (typeof v !== 'boolean') throw new Error(`${what}: not a boolean`);
    return v;
  });
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

const profiles = obj(load('ed25519-verifier-profiles.json'), 'profiles');
const section = (name: string): Record<string, unknown> => obj(profiles[name], name);

export interface RfcVector {
  readonly name: string;
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

export function rfc8032(): RfcVector[] {
  return arr(obj(load('rfc8032-ed25519.json'), 'rfc8032').vectors, 'rfc8032.vectors').map((v, i) => {
    const o = obj(v, `rfc8032[${i}]`);
    return {
      name: str(o.name, 'name'),
      seed: fromHex(str(o.secretKey, 'secretKey')),
      publicKey: fromHex(str(o.publicKey, 'publicKey')),
      message: fromHex(str(o.message, 'message')),
      signature: fromHex(str(o.signature, 'signature')),
    };
  });
}

export interface WycheproofCase extends VerifyCase {
  readonly tcId: number;
  /** Wycheproof's own label. */
  readonly result: string;
}

export function wycheproof(): WycheproofCase[] {
  const accepted = nums(
    obj(section('wycheproof').accepted_tcIds, 'accepted_tcIds').cometbft_zip215,
    'wycheproof.cometbft_zip215',
  );
  const out: WycheproofCase[] = [];
  const file = obj(load('wycheproof-ed25519_test.json'), 'wycheproof');
  for (const g of arr(file.testGroups, 'testGroups')) {
    const group = obj(g, 'group');
    const publicKey = fromHex(str(obj(group.publicKey, 'publicKey').pk, 'pk'));
    for (const t of arr(group.tests, 'tests')) {
      const test = obj(t, 'test');
      const tcId = num(test.tcId, 'tcId');
      out.push({
        name: `wycheproof tcId ${tcId}`,
        tcId,
        result: str(test.result, 'result'),
        publicKey,
        message: fromHex(str(test.msg, 'msg')),
        signature: fromHex(str(test.sig, 'sig')),
        expected: accepted.has(tcId),
      });
    }
  }
  return out;
}

export function speccheck(): VerifyCase[] {
  const expected = bools(
    obj(section('speccheck').expected_by_index, 'expected_by_index').cometbft_zip215,
    'speccheck.cometbft_zip215',
  );
  return arr(load('ed25519-speccheck-cases.json'), 'speccheck').map((c, i) => {
    const o = obj(c, `speccheck[${i}]`);
    const exp = expected[i];
    if (exp === undefined) throw new Error(`speccheck[${i}]: no expected value`);
    return {
      name: `speccheck #${i}`,
      publicKey: fromHex(str(o.pub_key, 'pub_key')),
      message: fromHex(str(o.message, 'message')),
      signature: fromHex(str(o.signature, 'signature')),
      expected: exp,
    };
  });
}

export function zip215(): VerifyCase[] {
  // The profile says "all (0..195)" for cometbft_zip215: every pair is valid.
  const rule = str(
    obj(section('zip215').accepted_indices, 'accepted_indices').cometbft_zip215,
    'zip215 rule',
  );
  if (!rule.startsWith('all')) throw new Error(`unexpected zip215 profile: ${rule}`);
  return arr(load('ed25519-zip215-vectors.json'), 'zip215').map((pair, i) => {
    const [pk, sig] = arr(pair, `zip215[${i}]`);
    return {
      name: `zip215 #${i}`,
      publicKey: fromHex(str(pk, 'publicKey')),
      message: utf8('Zcash'),
      signature: fromHex(str(sig, 'signature')),
      expected: true,
    };
  });
}

export interface CctvCase extends VerifyCase {
  readonly num: number;
  readonly flags: readonly string[];
}

export function cctv(): CctvCase[] {
  const accepted = nums(
    obj(section('cctv').accepted_numbers, 'accepted_numbers').cometbft_zip215,
    'cctv.cometbft_zip215',
  );
  return arr(load('cctv-ed25519vectors.json'), 'cctv').map((v, i) => {
    const o = obj(v, `cctv[${i}]`);
    const n = num(o.number, 'number');
    return {
      name: `cctv #${n}`,
      num: n,
      flags: o.flags === null ? [] : arr(o.flags, 'flags').map((f) => str(f, 'flag')),
      publicKey: fromHex(str(o.key, 'key')),
      message: utf8(str(o.msg, 'msg')),
      signature: fromHex(str(o.sig, 'sig')),
      expected: accepted.has(n),
    };
  });
}

/** CCTV numbers flagged `reencoded_k` according to the profiles file. */
export function cctvReencodedK(): Set<number> {
  return nums(section('cctv').reencoded_k_numbers, 'reencoded_k_numbers');
}
