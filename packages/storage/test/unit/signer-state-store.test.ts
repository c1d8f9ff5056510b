import { readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSynodError, type LastSignState, type SignerStateStore } from '@synod/types';
import { describe, expect, it } from 'vitest';
import {
  decodeSignerState,
  decodeSignerStateFile,
  encodeSignerState,
  encodeSignerStateSlot,
  FileSignerStateStore,
  MemorySignerStateStore,
  SIGNER_STATE_SLOT_BYTES,
} from '../../src/index.js';
import { tempDir } from '../temp-dir.js';

const state = (height: number, fill = 1): LastSignState => ({
  height,
  round: 2,
  step: 'precommit',
  signBytes: new Uint8Array([fill, 2, 3]),
  signature: new Uint8Array(64).fill(fill),
});

function storeBehaviour(
  name: string,
  make: () => Promise<{ store: SignerStateStore; done: () => Promise<void> }>,
) {
  describe(`SignerStateStore behaviour: ${name}`, () => {
    it('loads undefined when nothing was saved, then what was saved last', async () => {
      const { store, done } = await make();
      try {
        expect(await store.load()).toBeUndefined();
        await store.save(state(5));
        await store.save(state(6, 9));
        expect(await store.load()).toEqual(state(6, 9));
      } finally {
        await done();
      }
    });

    it('keeps its own copy of the bytes', async () => {
      const { store, done } = await make();
      try {
        const s = state(1);
        await store.save(s);
        (s.signBytes as Uint8Array)[0] = 99;
        const loaded = await store.load();
        expect(loaded?.signBytes[0]).toBe(1);
        (loaded?.signature as Uint8Array)[0] = 42;
        expect((await store.load())?.signature[0]).toBe(1);
      } finally {
        await done();
      }
    });

    it('concurrent saves end with the last one', async () => {
      const { store, done } = await make();
      try {
        await Promise.all([1, 2, 3, 4, 5].map((h) => store.save(state(h))));
        expect((await store.load())?.height).toBe(5);
      } finally {
        await done();
      }
    });
  });
}

storeBehaviour('memory', async () => ({ store: new MemorySignerStateStore(), done: async () => undefined }));
storeBehaviour('file', async () => {
  const dir = await tempDir('signer-state');
  return { store: new FileSignerStateStore(join(dir.path, 'data', 'signer-state.json')), done: dir.remove };
});

describe('FileSignerStateStore', () => {
  it('writes two slots of one JSON line each, mode 0600, and leaves no temp file', async () => {
    const dir = await tempDir('signer-file');
    try {
      const path = join(dir.path, 'signer-state.json');
      const store = new FileSignerStateStore(path);
      await store.save(state(12));
      const bytes = await readFile(path);
      expect(bytes.length).toBe(2 * SIGNER_STATE_SLOT_BYTES);
      const lines = bytes.toString('utf8').split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]?.trim()).toBe('');
      expect(JSON.parse(lines[1] as string)).toMatchObject({
        version: 2,
        seq: 1,
        height: 12,
        round: 2,
        step: 'precommit',
        signBytes: '010203',
      });
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(await readdir(dir.path)).toEqual(['signer-state.json']);
      expect(await new FileSignerStateStore(path).load()).toEqual(state(12));
    } finally {
      await dir.remove();
    }
  });

  it('later saves overwrite the other slot in place (same file, no temp file), alternating', async () => {
    const dir = await tempDir('signer-slots');
    try {
      const path = join(dir.path, 'signer-state.json');
      const store = new FileSignerStateStore(path);
      await store.save(state(1));
      const inode = (await stat(path)).ino;
      await store.save(state(2));
      await store.save(state(3, 7));
      expect((await stat(path)).ino).toBe(inode);
      expect(await readdir(dir.path)).toEqual(['signer-state.json']);
      const lines = (await readFile(path, 'utf8')).split('\n').map((l) => JSON.parse(l || '{}'));
      // seq 3 in slot 1 (over seq 1), seq 2 in slot 0
      expect(lines[0]).toMatchObject({ seq: 2, height: 2 });
      expect(lines[1]).toMatchObject({ seq: 3, height: 3 });
      expect(await new FileSignerStateStore(path).load()).toEqual(state(3, 7));
      await store.close();
    } finally {
      await dir.remove();
    }
  });

  it('a torn newest slot loads the state before it, and the next save goes over the torn slot', async () => {
    const dir = await tempDir('signer-torn');
    try {
      const path = join(dir.path, 'signer-state.json');
      const store = new FileSignerStateStore(path);
      for (const h of [1, 2, 3]) await store.save(state(h));
      await store.close();
      // seq 3 (height 3) is in slot 1: tear it as a crash during its write would (its first half new,
      // the rest of the slot from before)
      const bytes = await readFile(path);
      const torn = encodeSignerStateSlot(state(3, 9), 3);
      torn.copy(bytes, SIGNER_STATE_SLOT_BYTES, 0, 100);
      bytes[SIGNER_STATE_SLOT_BYTES + 50] = 0x41;
      await writeFile(path, bytes);
      const reopened = new FileSignerStateStore(path);
      expect(await reopened.load()).toEqual(state(2));
      await reopened.save(state(3, 5));
      expect(await new FileSignerStateStore(path).load()).toEqual(state(3, 5));
      const lines = (await readFile(path, 'utf8')).split('\n').map((l) => JSON.parse(l || '{}'));
      expect(lines[0]).toMatchObject({ seq: 2, height: 2 });
      expect(lines[1]).toMatchObject({ seq: 3, height: 3 });
      await reopened.close();
    } finally {
      await dir.remove();
    }
  });

  it('reads the one-object form (hand-written, or by earlier versions) and rewrites it as two slots', async () => {
    const dir = await tempDir('signer-v1');
    try {
      const path = join(dir.path, 'signer-state.json');
      await writeFile(path, encodeSignerState(state(40)), { mode: 0o600 });
      const store = new FileSignerStateStore(path);
      expect(await store.load()).toEqual(state(40));
      await store.save(state(41));
      expect((await readFile(path)).length).toBe(2 * SIGNER_STATE_SLOT_BYTES);
      expect(await new FileSignerStateStore(path).load()).toEqual(state(41));
      await store.save(state(42));
      expect(await new FileSignerStateStore(path).load()).toEqual(state(42));
      await store.close();
    } finally {
      await dir.remove();
    }
  });

  it('ignores a temp file left by a crash before the rename', async () => {
    const dir = await tempDir('signer-tmp');
    try {
      const path = join(dir.path, 'signer-state.json');
      const store = new FileSignerStateStore(path);
      await store.save(state(3));
      await writeFile(`${path}.tmp`, '{"version":1,"height":');
      expect(await store.load()).toEqual(state(3));
      await store.save(state(4));
      expect(await store.load()).toEqual(state(4));
    } finally {
      await dir.remove();
    }
  });

  it('removes a leftover temp file when it loads (at open), and writes the temp with O_EXCL and mode 0600 (#11.24)', async () => {
    const dir = await tempDir('signer-leftover');
    try {
      const path = join(dir.path, 'signer-state.json');
      await new FileSignerStateStore(path).save(state(3));
      // A crash between creating the temp file and the rename left it behind, world-readable.
      await writeFile(`${path}.tmp`, '{"version":1,"height":', { mode: 0o644 });
      const store = new FileSignerStateStore(path);
      expect(await store.load()).toEqual(state(3));
      expect(await readdir(dir.path)).toEqual(['signer-state.json']);
      await store.save(state(4));
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect(await store.load()).toEqual(state(4));
    } finally {
      await dir.remove();
    }
  });

  it('never writes through a symlink planted at the temp path (#11.24)', async () => {
    const dir = await tempDir('signer-symlink');
    try {
      const path = join(dir.path, 'signer-state.json');
      const victim = join(dir.path, 'victim.txt');
      await writeFile(victim, 'keep me');
      const store = new FileSignerStateStore(path);
      await store.save(state(1));
      await symlink(victim, `${path}.tmp`);
      await store.save(state(2));
      expect(await readFile(victim, 'utf8')).toBe('keep me');
      expect(await store.load()).toEqual(state(2));
    } finally {
      await dir.remove();
    }
  });

  it('a damaged file is STORAGE_CORRUPT with the path and what to do, never "nothing signed"', async () => {
    const dir = await tempDir('signer-corrupt');
    try {
      const path = join(dir.path, 'signer-state.json');
      const good = JSON.parse(encodeSignerState(state(3))) as Record<string, unknown>;
      const bad = [
        '',
        '{"version":1,"height":',
        '[]',
        JSON.stringify({ ...good, version: 2 }),
        JSON.stringify({ ...good, height: -1 }),
        JSON.stringify({ ...good, round: 1.5 }),
        JSON.stringify({ ...good, step: 'commit' }),
        JSON.stringify({ ...good, signBytes: 'xyz' }),
        JSON.stringify({ ...good, signature: 'abcd' }),
      ];
      const blank = Buffer.alloc(SIGNER_STATE_SLOT_BYTES, ' ');
      blank[SIGNER_STATE_SLOT_BYTES - 1] = 0x0a;
      const slot = encodeSignerStateSlot(state(3), 1);
      const flipped = Buffer.from(slot);
      flipped[30] = (flipped[30] as number) ^ 1;
      const slotForms = [
        Buffer.concat([blank, blank]),
        Buffer.concat([blank, flipped]),
        Buffer.concat([flipped, Buffer.alloc(SIGNER_STATE_SLOT_BYTES)]),
        Buffer.concat([blank, slot.subarray(0, 100), Buffer.alloc(SIGNER_STATE_SLOT_BYTES - 100, 0x20)]),
      ];
      for (const text of [...bad, ...slotForms]) {
        await writeFile(path, text);
        const err = await new FileSignerStateStore(path).load().catch((e: unknown) => e);
        expect(isSynodError(err, 'STORAGE_CORRUPT')).toBe(true);
        expect((err as Error).message).toContain(path);
        expect((err as Error).message).toContain('Restore the file from a backup');
      }
    } finally {
      await dir.remove();
    }
  });

  it('a failed write is SIGNER_STATE_WRITE_FAILED', async () => {
    const dir = await tempDir('signer-fail');
    try {
      await writeFile(join(dir.path, 'not-a-folder'), 'x');
      const store = new FileSignerStateStore(join(dir.path, 'not-a-folder', 'signer-state.json'));
      const err = await store.save(state(1)).catch((e: unknown) => e);
      expect(isSynodError(err, 'SIGNER_STATE_WRITE_FAILED')).toBe(true);
      // The store stays usable for later saves to a good path (the queue is not stuck).
      const other = new FileSignerStateStore(join(dir.path, 'ok.json'));
      await other.save(state(2));
      expect((await other.load())?.height).toBe(2);
    } finally {
      await dir.remove();
    }
  });

  it('encode and decode round-trip, in both forms', () => {
    expect(decodeSignerState(encodeSignerState(state(77, 5)))).toEqual(state(77, 5));
    expect(decodeSignerState('nope')).toBe('not valid JSON');
    const blank = Buffer.alloc(SIGNER_STATE_SLOT_BYTES, ' ');
    expect(
      decodeSignerStateFile(
        Buffer.concat([encodeSignerStateSlot(state(9), 4), encodeSignerStateSlot(state(8), 3)]),
      ),
    ).toEqual({ state: state(9), seq: 4 });
    expect(decodeSignerStateFile(Buffer.concat([blank, encodeSignerStateSlot(state(8), 3)]))).toEqual({
      state: state(8),
      seq: 3,
    });
    expect(decodeSignerStateFile(Buffer.from(encodeSignerState(state(7))))).toEqual({
      state: state(7),
      seq: undefined,
    });
  });

  it('refuses sign bytes too large for a slot (SIGNER_STATE_WRITE_FAILED), and stays usable', async () => {
    const dir = await tempDir('signer-large');
    try {
      const path = join(dir.path, 'signer-state.json');
      const store = new FileSignerStateStore(path);
      await store.save(state(1));
      const huge = { ...state(2), signBytes: new Uint8Array(SIGNER_STATE_SLOT_BYTES) };
      const err = await store.save(huge).catch((e: unknown) => e);
      expect(isSynodError(err, 'SIGNER_STATE_WRITE_FAILED')).toBe(true);
      expect(await new FileSignerStateStore(path).load()).toEqual(state(1));
      await store.save(state(3));
      expect(await new FileSignerStateStore(path).load()).toEqual(state(3));
      await store.close();
    } finally {
      await dir.remove();
    }
  });
});
