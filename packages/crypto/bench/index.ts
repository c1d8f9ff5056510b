/**
 * `pnpm bench`: throughput of @synod/crypto's primitives. Plain loops timed
 * with performance.now(), each after a warm-up; prints a table. Numbers only:
 * nothing here asserts a timing.
 */

import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { ed25519 } from '@noble/curves/ed25519.js';
import { verifyOpenSsl } from '../src/ed25519.js';
import {
  clearKeyObjectCache,
  createVerifyPool,
  keyPairFromSeed,
  merkleRoot,
  sha256,
  sign,
  verify,
  verifyZip215,
} from '../src/index.js';

interface Row {
  readonly name: string;
  readonly value: string;
  readonly unit: string;
  readonly per: string;
}

const rows: Row[] = [];
let sink = 0;

/** Runs `fn` for about `ms` milliseconds after a warm-up; returns operations per second. */
function measure(fn: (i: number) => unknown, ms: number, warmup = Math.max(20, ms / 10)): number {
  let i = 0;
  const warmEnd = performance.now() + warmup;
  while (performance.now() < warmEnd) if (fn(i++)) sink++;
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let j = 0; j < 8; j++) if (fn(ops++)) sink++;
    now = performance.now();
  }
  return (ops / (now - start)) * 1000;
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

function opsRow(name: string, opsPerSec: number): void {
  rows.push({ name, value: fmt(opsPerSec), unit: 'ops/s', per: `${(1e6 / opsPerSec).toFixed(1)} µs/op` });
}

// --- Ed25519 ---------------------------------------------------------------
/** The point of order 2, (0, −1). */
const ORDER_2 = ed25519.Point.fromBytes(
  Buffer.from('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex'),
);
const key = keyPairFromSeed(randomBytes(32));
const msg = randomBytes(200); // about the size of a vote's sign bytes
const sig = sign(key, msg);
if (!verify(key.publicKey, msg, sig)) throw new Error('bench setup: signature does not verify');

opsRow(
  'sign (node:crypto, cached private KeyObject)',
  measure(() => sign(key, msg), 400),
);
opsRow(
  'verify, fast path (OpenSSL, cached KeyObject)',
  measure(() => verify(key.publicKey, msg, sig), 600),
);

// Cold cache: the KeyObject is imported on every call (a key not among the last 4,096 seen).
opsRow(
  'verify, fast path, cold cache (import KeyObject)',
  measure(() => {
    clearKeyObjectCache();
    return verify(key.publicKey, msg, sig);
  }, 400),
);

opsRow(
  'verifyZip215 (noble only, the fallback)',
  measure(() => verifyZip215(key.publicKey, msg, sig), 600),
);

// An invalid signature (a forgery: the low bit of S flipped, so R and A are an honest signer's).
const rejected = new Uint8Array(sig);
rejected[32] = (rejected[32] ?? 0) ^ 1;
if (verifyOpenSsl(key.publicKey, msg, rejected)) throw new Error('bench setup: expected OpenSSL to reject');
// Before #11.26 every OpenSSL "no" ran noble's ZIP-215 check: OpenSSL + noble.
opsRow(
  'invalid signature, before: OpenSSL no → noble fallback',
  measure(
    () => verifyOpenSsl(key.publicKey, msg, rejected) || verifyZip215(key.publicKey, msg, rejected),
    600,
  ),
);
// Now the fallback runs only where ZIP-215 could still say yes (non-canonical R, torsion in A or R).
opsRow(
  'invalid signature, now: verify (OpenSSL + X25519 torsion test of R)',
  measure(() => verify(key.publicKey, msg, rejected), 600),
);
// What still reaches noble: R with a torsion component (here R + T, T of order 2).
const torsionR = new Uint8Array(
  Buffer.from(ed25519.Point.fromBytes(sig.subarray(0, 32)).add(ORDER_2).toBytes()),
);
const mixedR = new Uint8Array(rejected);
mixedR.set(torsionR, 0);
opsRow(
  'invalid signature with a mixed-order R: verify (fallback)',
  measure(() => verify(key.publicKey, msg, mixedR), 600),
);

// --- SHA-256 ---------------------------------------------------------------
for (const [label, size, ms] of [
  ['1 KiB', 1024, 400],
  ['1 MiB', 1024 * 1024, 600],
] as const) {
  const data = randomBytes(size);
  const ops = measure(() => sha256(data)[0], ms);
  rows.push({
    name: `sha256, ${label} inputs`,
    value: fmt((ops * size) / (1024 * 1024)),
    unit: 'MiB/s',
    per: `${fmt(ops)} hashes/s`,
  });
}

// --- Merkle ----------------------------------------------------------------
for (const [count, ms] of [
  [1_000, 400],
  [10_000, 600],
] as const) {
  const leaves = Array.from({ length: count }, () => new Uint8Array(randomBytes(32)));
  const ops = measure(() => merkleRoot(leaves)[0], ms, 100);
  rows.push({
    name: `merkleRoot, ${count.toLocaleString('en-US')} × 32-byte leaves`,
    value: fmt(ops),
    unit: 'roots/s',
    per: `${(1000 / ops).toFixed(2)} ms/root`,
  });
}

// --- verify pool -------------------------------------------------------------
// 4,000 signatures of 100 keys (the pool's workers warm their key caches first), as one
// batch and as single calls made in one turn of the event loop; wall time and the
// process's CPU time (the workers' included) per signature.
{
  const keys = Array.from({ length: 100 }, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(i + 1)));
  const items = Array.from({ length: 4000 }, (_, i) => {
    const message = new Uint8Array(randomBytes(150));
    const key = keys[i % keys.length] as (typeof keys)[number];
    return { publicKey: key.publicKey, message, signature: sign(key, message) };
  });
  for (const workers of [1, availableParallelism()]) {
    const pool = createVerifyPool({ workers });
    await pool.verifyMany(items.slice(0, 400));
    for (const single of [false, true]) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const answers = single
        ? (await Promise.all(items.map((it) => pool.verifyMany([it])))).flat()
        : await pool.verifyMany(items);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      sink += answers.filter(Boolean).length;
      rows.push({
        name: `verify pool, ${workers} worker${workers === 1 ? '' : 's'}, ${single ? 'single calls' : 'one batch'}`,
        value: fmt((items.length * 1000) / ms),
        unit: 'verify/s',
        per: `${((cpu.user + cpu.system) / items.length).toFixed(1)} µs CPU/verify (all threads)`,
      });
    }
    await pool.close();
  }
}

// --- table -----------------------------------------------------------------
const w0 = Math.max(...rows.map((r) => r.name.length));
const w1 = Math.max(...rows.map((r) => r.value.length));
const w2 = Math.max(...rows.map((r) => r.unit.length));
console.log(`@synod/crypto bench (Node ${process.versions.node}, OpenSSL ${process.versions.openssl})\n`);
for (const r of rows) {
  console.log(`${r.name.padEnd(w0)}  ${r.value.padStart(w1)} ${r.unit.padEnd(w2)}  ${r.per}`);
}
if (sink < 0) console.log(sink); // keep results observable
