import { type ChildProcess, spawn } from 'node:child_process';
import { appendFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verify } from '@synod/crypto';
import { blockHash, isSynodError, SIGN_STEP_ORDER, type SignStep } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { createSigner, openNodeStorage, storagePaths } from '../../src/index.js';
import { encodeDataFrame } from '../../src/wal/wal-format.js';
import { CRASH_VALIDATOR_SEED } from '../fixtures.js';
import { tempDir } from '../temp-dir.js';

/**
 * Crash tests with real processes: a child (crash-child.ts) writes blocks, WAL
 * records and signatures into real LevelDB / WAL / signer files and is killed
 * with SIGKILL at random moments. After every kill this process reopens the
 * storage and checks that nothing the child reported durable was lost and that
 * the signer refuses anything that would conflict with what it released.
 *
 * SYNOD_CRASH_ITERATIONS (default 25) sets the number of kills;
 * SYNOD_CRASH_SEED replays a run (the seed is in every failure message).
 */
const ITERATIONS = Number(process.env.SYNOD_CRASH_ITERATIONS ?? 25);
/** More than the largest frame crash-child.ts writes (a 41 KiB proposal record and its framing). */
const KILL_TORN_FRAME_MAX = 48 * 1024;
const SEED = Number(process.env.SYNOD_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Signed {
  readonly height: number;
  readonly round: number;
  readonly step: SignStep;
  readonly signBytes: string;
  readonly signature: string;
}

interface RunOutput {
  readonly lines: string[];
  readonly stderr: string;
  readonly signal: NodeJS.Signals | null;
  readonly code: number | null;
  readonly killedAfterReady: boolean;
}

function runAndKill(dataDir: string, run: number, rand: () => number): Promise<RunOutput> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', CHILD, dataDir, String(run)],
      { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lines: string[] = [];
    let partial = '';
    let stderr = '';
    let killedAfterReady = false;
    let timer: NodeJS.Timeout | undefined;
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    // Mostly a random moment while it writes; sometimes during start-up and recovery.
    const early = rand() < 0.15;
    if (early) timer = setTimeout(kill, Math.floor(rand() * 500));
    const afterReadyMs = Math.floor(rand() * 300);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      partial += chunk;
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (!early && line.startsWith('ready ')) {
          killedAfterReady = true;
          timer = setTimeout(kill, afterReadyMs);
        }
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr += chunk;
    });
    // A child that never reports ready is stuck: kill it and let the checks fail.
    const guard = setTimeout(kill, 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      if (timer !== undefined) clearTimeout(timer);
      resolve({ lines, stderr, signal, code, killedAfterReady });
    });
  });
}

const compareHrs = (a: { height: number; round: number; step: SignStep }, b: typeof a): number =>
  a.height - b.height || a.round - b.round || SIGN_STEP_ORDER[a.step] - SIGN_STEP_ORDER[b.step];

describe('crash safety under SIGKILL (real processes, real files)', () => {
  it(
    `loses nothing reported durable and never double-signs across ${ITERATIONS} kills (seed ${SEED})`,
    async () => {
      const rand = mulberry32(SEED);
      const dir = await tempDir('crash');
      const ctx = (i: number): string => `seed ${SEED}, kill ${i + 1}, data in ${dir.path}`;
      const signedByHrs = new Map<string, Signed>();
      const blockHashByHeight = new Map<number, string>();
      const walSyncedAfter: { height: number; record: string }[] = [];
      let lastSigned: Signed | undefined;
      let lastEndHeight = 0;
      let pruneRequested = 0;
      const stats = { kills: 0, heights: 0, refusals: 0, tornTails: 0, killedDuringStartup: 0 };
      const publicKey = (
        await createSigner(CRASH_VALIDATOR_SEED, { load: async () => undefined, save: async () => {} })
      ).publicKey;

      try {
        for (let i = 0; i < ITERATIONS; i++) {
          const out = await runAndKill(dir.path, i + 1, rand);
          expect(out.signal, `${ctx(i)}: the child must die by SIGKILL, not exit (${out.stderr})`).toBe(
            'SIGKILL',
          );
          stats.kills++;
          if (!out.lines.some((l) => l.startsWith('ready '))) stats.killedDuringStartup++;

          for (const line of out.lines) {
            const [kind, ...f] = line.split(' ');
            if (kind === 'ready') {
              if (Number(f[1]) > 0) stats.tornTails++;
            } else if (kind === 'signed') {
              const s: Signed = {
                height: Number(f[0]),
                round: Number(f[1]),
                step: f[2] as SignStep,
                signBytes: f[3]!,
                signature: f[4]!,
              };
              const key = `${s.height}/${s.round}/${s.step}`;
              const before = signedByHrs.get(key);
              // The core safety property: one (height, round, step), one message, one signature.
              if (before !== undefined) {
                expect(s.signBytes, `${ctx(i)}: conflicting signature released for ${key}`).toBe(
                  before.signBytes,
                );
                expect(s.signature, ctx(i)).toBe(before.signature);
              }
              expect(
                verify(publicKey, Buffer.from(s.signBytes, 'hex'), Buffer.from(s.signature, 'hex')),
                ctx(i),
              ).toBe(true);
              if (lastSigned !== undefined) {
                expect(compareHrs(s, lastSigned), `${ctx(i)}: signing went backwards`).toBeGreaterThanOrEqual(
                  0,
                );
              }
              signedByHrs.set(key, s);
              lastSigned = s;
            } else if (kind === 'refused') {
              stats.refusals++;
            } else if (kind === 'walsync') {
              walSyncedAfter.push({ height: Number(f[0]), record: f[1]! });
            } else if (kind === 'block') {
              const h = Number(f[0]);
              // A height is reported durable once; seeing it again would mean it was lost and redone.
              expect(blockHashByHeight.has(h), `${ctx(i)}: block ${h} reported durable twice`).toBe(false);
              blockHashByHeight.set(h, f[1]!);
              stats.heights++;
            } else if (kind === 'endheight') {
              lastEndHeight = Math.max(lastEndHeight, Number(f[0]));
            } else if (kind === 'pruning') {
              pruneRequested = Math.max(pruneRequested, Number(f[0]));
            }
          }

          // Sometimes also tear the WAL's tail the way a power loss in the middle of a write would:
          // part of a frame, or zeros, after the last complete record.
          let tornBytes = 0;
          const tear = rand() < 0.3;
          const walDir = storagePaths(dir.path).wal;
          const segments = await readdir(walDir).catch(() => [] as string[]);
          const last = segments
            .filter((f) => f.endsWith('.log'))
            .sort()
            .at(-1);
          // (A segment the kill caught before its header was written is left alone.)
          if (tear && last !== undefined && (await stat(join(walDir, last))).size >= 12) {
            const frame = encodeDataFrame(new TextEncoder().encode(`torn write ${i} ${'t'.repeat(500)}`));
            const tail =
              rand() < 0.5
                ? frame.subarray(0, 1 + Math.floor(rand() * (frame.length - 1)))
                : new Uint8Array(4096);
            await appendFile(join(walDir, last), tail);
            tornBytes = tail.length;
          }

          // Restart: open everything the way a node does, after the crash.
          const storage = await openNodeStorage({ dataDir: dir.path });
          try {
            if (tornBytes > 0) {
              // The kill may itself have cut the write in progress short (the child's unsynced
              // proposals are buffered writes of up to 41 KiB, and a fatal signal ends a write between
              // pages): the part of that one frame goes too. Nothing synced may go (checked below).
              const cut = storage.walRecovery?.truncatedBytes ?? 0;
              expect(cut, `${ctx(i)}: torn tail not cut`).toBeGreaterThanOrEqual(tornBytes);
              expect(
                cut - tornBytes,
                `${ctx(i)}: more cut than the torn tail and one frame the kill tore`,
              ).toBeLessThan(KILL_TORN_FRAME_MAX);
              stats.tornTails++;
            }
            // Blocks: everything reported durable is there, with the same hash.
            const maxReported = Math.max(0, ...blockHashByHeight.keys());
            expect(storage.blocks.height(), ctx(i)).toBeGreaterThanOrEqual(maxReported);
            expect(storage.blocks.base(), `${ctx(i)}: pruned more than asked`).toBeLessThanOrEqual(
              Math.max(1, pruneRequested),
            );
            for (const [h, hash] of blockHashByHeight) {
              if (h < storage.blocks.base()) continue;
              const block = await storage.blocks.loadBlock(h);
              expect(block, `${ctx(i)}: block ${h} lost`).toBeDefined();
              expect(await storage.blocks.loadHeader(h), ctx(i)).toEqual(block?.header);
              expect(Buffer.from(blockHash(block!)).toString('hex'), `${ctx(i)}: block ${h} changed`).toBe(
                hash,
              );
            }
            // WAL: the records synced after the last reported end-of-height marker are all there, in order.
            const records = await storage.wal.recordsAfterEndHeight(lastEndHeight);
            expect(records, `${ctx(i)}: end-of-height marker ${lastEndHeight} lost`).toBeDefined();
            const texts = (records ?? []).map((r) => new TextDecoder().decode(r.data));
            let at = 0;
            for (const { height, record } of walSyncedAfter) {
              if (height <= lastEndHeight) continue;
              const found = texts.indexOf(record, at);
              expect(found, `${ctx(i)}: synced WAL record ${record} lost`).toBeGreaterThanOrEqual(0);
              at = found + 1;
            }
            // Signer: restarted from its state file, it re-signs identical bytes and refuses conflicts.
            const state = await storage.signerState.load();
            if (lastSigned !== undefined) {
              expect(state, ctx(i)).toBeDefined();
              const signer = await createSigner(CRASH_VALIDATOR_SEED, storage.signerState);
              const s = state!;
              expect(
                compareHrs(s, lastSigned),
                `${ctx(i)}: signer state behind a released signature`,
              ).toBeGreaterThanOrEqual(0);
              const again = await signer.sign({
                height: s.height,
                round: s.round,
                step: s.step,
                signBytes: s.signBytes,
              });
              expect(Buffer.from(again).equals(Buffer.from(s.signature)), ctx(i)).toBe(true);
              const conflict = Buffer.from(`conflicting ${i}`);
              const refusal = await signer
                .sign({
                  height: lastSigned.height,
                  round: lastSigned.round,
                  step: lastSigned.step,
                  signBytes: conflict,
                })
                .catch((e: unknown) => e);
              expect(
                isSynodError(refusal, 'SIGNER_DOUBLE_SIGN') || isSynodError(refusal, 'SIGNER_REGRESSION'),
                `${ctx(i)}: signer accepted a conflicting message`,
              ).toBe(true);
              const reloaded = await storage.signerState.load();
              expect(reloaded, `${ctx(i)}: refused requests must not change the state`).toEqual(state);
            }
          } finally {
            await storage.close();
          }
        }
        expect(stats.kills).toBe(ITERATIONS);
        expect(stats.heights).toBeGreaterThan(0);
        process.stdout.write(
          `crash test: seed ${SEED}, ${stats.kills} kills (${stats.killedDuringStartup} during start-up), ` +
            `${stats.heights} heights, ${stats.refusals} conflicting re-sign attempts refused, ` +
            `${stats.tornTails} torn WAL tails recovered\n`,
        );
      } finally {
        await dir.remove();
      }
    },
    60_000 + ITERATIONS * 5_000,
  );
});
