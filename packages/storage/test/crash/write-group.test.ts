/**
 * Write groups under SIGKILL, on real LevelDB files: a child process
 * (`group-child.ts`) writes heights in groups — block store, state store,
 * application state and RPC records of several heights in one batch — and is
 * killed inside a group and at random moments. After each kill every store
 * must be at the same height, a group boundary at or after the last one the
 * child reported durable: never one store ahead of another, never a part of
 * a group.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KEY_PREFIX, openNodeStorage, prefixedKvStore } from '../../src/index.js';
import { tempDir } from '../temp-dir.js';

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHILD = join(PACKAGE_DIR, 'test', 'crash', 'group-child.ts');
const PER_GROUP = 5;
const KILLS = Number(process.env.SYNOD_GROUP_CRASH_ITERATIONS ?? 5);

function runChild(dataDir: string, args: string[], killAfterMs?: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', CHILD, dataDir, String(PER_GROUP), ...args],
      { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lines: string[] = [];
    let partial = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      partial += chunk;
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        // Timed from the first group written, so that every run makes progress on a loaded machine.
        if (killAfterMs !== undefined && line.startsWith('durable ') && timer === undefined)
          timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (c: string) => {
      stderr += c;
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(guard);
      if (timer !== undefined) clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child ended without SIGKILL: ${stderr}`));
      else resolve(lines);
    });
  });
}

/** The height each store holds after a restart. */
async function heights(
  dataDir: string,
): Promise<{ blocks: number; state: number; app: number; rpc: number }> {
  const storage = await openNodeStorage({ dataDir });
  try {
    const app = await storage.state.appState.get(Uint8Array.of(0x4d));
    const rpc = await prefixedKvStore(storage.kv, Uint8Array.of(KEY_PREFIX.rpc)).entries({
      reverse: true,
      limit: 1,
    });
    const num = (b: Uint8Array | undefined): number =>
      b === undefined ? 0 : Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0));
    return {
      blocks: storage.blocks.height(),
      state: (await storage.state.loadStateInfo())?.height ?? 0,
      app: num(app),
      rpc: num(rpc[0]?.value),
    };
  } finally {
    await storage.close();
  }
}

const lastDurable = (lines: readonly string[]): number =>
  Math.max(0, ...lines.filter((l) => l.startsWith('durable ')).map((l) => Number(l.split(' ')[1])));

describe('write groups survive SIGKILL (real processes, real LevelDB)', () => {
  it('killed inside a group: no store holds any of that group', async () => {
    const dir = await tempDir('group-crash-inside');
    try {
      const lines = await runChild(dir.path, ['inside']);
      const inside = Number(lines.find((l) => l.startsWith('inside '))?.split(' ')[1]);
      expect(inside).toBe(3 * PER_GROUP);
      expect(lastDurable(lines)).toBe(2 * PER_GROUP);
      const h = await heights(dir.path);
      expect(h).toEqual({
        blocks: 2 * PER_GROUP,
        state: 2 * PER_GROUP,
        app: 2 * PER_GROUP,
        rpc: 2 * PER_GROUP,
      });
    } finally {
      await dir.remove();
    }
  }, 120_000);

  it('killed at random moments: every store at one group boundary, never behind what was durable', async () => {
    const dir = await tempDir('group-crash-random');
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    try {
      let durable = 0;
      for (let i = 0; i < KILLS; i++) {
        const lines = await runChild(dir.path, [], Math.floor(rand() * 400));
        durable = Math.max(durable, lastDurable(lines));
        const h = await heights(dir.path);
        expect(h.state, `kill ${i}`).toBe(h.blocks);
        expect(h.app, `kill ${i}`).toBe(h.blocks);
        expect(h.rpc, `kill ${i}`).toBe(h.blocks);
        expect(h.blocks % PER_GROUP, `kill ${i}: a part of a group`).toBe(0);
        expect(h.blocks, `kill ${i}`).toBeGreaterThanOrEqual(durable);
        durable = h.blocks;
      }
      expect(durable).toBeGreaterThanOrEqual(KILLS * PER_GROUP);
    } finally {
      await dir.remove();
    }
  }, 300_000);
});
