import { appendFile, mkdir, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSynodError, LIMITS, type Metrics, noopMetrics, type SynodError } from '@synod/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FileConsensusWal, type FileWalOptions, openFileWal, segmentFileName } from '../../src/index.js';
import { tempDir } from '../temp-dir.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (u: Uint8Array): string => new TextDecoder().decode(u);
const texts = (records: readonly { data: Uint8Array }[] | undefined): string[] | undefined =>
  records?.map((r) => dec(r.data));

/** Frame size of a data record with an n-byte payload. */
const frameBytes = (n: number): number => 8 + 1 + n;
const HEADER = 12;
const BASE_MARKER = 8 + 9;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('FileConsensusWal', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let wal: FileConsensusWal | undefined;
  const walDir = (): string => join(dir.path, 'wal');
  const openWal = async (options?: FileWalOptions): Promise<FileConsensusWal> => {
    wal = await openFileWal(walDir(), options);
    return wal;
  };
  const segment = (id = 1): string => join(walDir(), segmentFileName(id));

  beforeEach(async () => {
    dir = await tempDir('wal');
    wal = undefined;
  });

  afterEach(async () => {
    await wal?.close().catch(() => undefined);
    await dir.remove();
  });

  it('times every fsync into synod_wal_fsync_seconds', async () => {
    const observed: { name: string; value: number }[] = [];
    const metrics: Metrics = {
      ...noopMetrics,
      histogram: (opts) => ({ observe: (value) => observed.push({ name: opts.name, value }) }),
    };
    const w = await openWal({ metrics });
    await w.append(enc('a'), { sync: true });
    await w.append(enc('b'));
    await w.append(enc('c'), { sync: true });
    expect(w.stats().fsyncs).toBe(2);
    expect(observed.map((o) => o.name)).toEqual(['synod_wal_fsync_seconds', 'synod_wal_fsync_seconds']);
    for (const o of observed) expect(o.value).toBeGreaterThanOrEqual(0);
  });

  it('a new WAL has the base height marker and no records', async () => {
    const w = await openWal({ baseHeight: 7 });
    expect(await w.recordsAfterEndHeight(7)).toEqual([]);
    expect(await w.recordsAfterEndHeight(0)).toBeUndefined();
    expect(await w.recordsAfterEndHeight(8)).toBeUndefined();
    expect(w.segmentFiles()).toEqual(['wal-000000000001.log']);
    expect((await stat(segment())).size).toBe(HEADER + BASE_MARKER);
  });

  it('returns the records after an end-of-height marker, across later markers, after reopen', async () => {
    const w = await openWal();
    await w.append(enc('h1-a'));
    await w.append(enc('h1-b'), { sync: true });
    await w.writeEndHeight(1);
    await w.append(enc('h2-a'), { sync: true });
    await w.writeEndHeight(2);
    await w.append(enc('h3-a'));
    await w.close();
    const r = await openWal();
    expect(texts(await r.recordsAfterEndHeight(0))).toEqual(['h1-a', 'h1-b', 'h2-a', 'h3-a']);
    expect(texts(await r.recordsAfterEndHeight(1))).toEqual(['h2-a', 'h3-a']);
    expect(texts(await r.recordsAfterEndHeight(2))).toEqual(['h3-a']);
    expect(await r.recordsAfterEndHeight(3)).toBeUndefined();
    expect(r.recovery.truncatedBytes).toBe(0);
  });

  it('an unsynced end-of-height marker is written to the file without an fsync; the next synced record covers it', async () => {
    const w = await openWal();
    await w.append(enc('h1-own'), { sync: true });
    const fsyncs = w.stats().fsyncs;
    const size = (await stat(segment())).size;
    await w.writeEndHeight(1, { sync: false });
    expect(w.stats().fsyncs).toBe(fsyncs);
    expect((await stat(segment())).size).toBeGreaterThan(size); // in the file (the OS's), not only in memory
    expect(texts(await w.recordsAfterEndHeight(1))).toEqual([]);
    await w.append(enc('h2-own'), { sync: true });
    expect(w.stats().fsyncs).toBe(fsyncs + 1);
    await w.writeEndHeight(2); // synced by default
    expect(w.stats().fsyncs).toBe(fsyncs + 2);
    await w.close();
    const r = await openWal();
    expect(texts(await r.recordsAfterEndHeight(1))).toEqual(['h2-own']);
    expect(texts(await r.recordsAfterEndHeight(2))).toEqual([]);
  });

  it('unsynced appends are visible to readers of the same WAL and keep their order', async () => {
    const w = await openWal();
    for (let i = 0; i < 50; i++) await w.append(enc(`r${i}`), { sync: i % 7 === 0 });
    expect(texts(await w.recordsAfterEndHeight(0))).toEqual(Array.from({ length: 50 }, (_, i) => `r${i}`));
  });

  it('the last marker for a height wins when a height is ended twice', async () => {
    const w = await openWal();
    await w.writeEndHeight(1);
    await w.append(enc('x'));
    await w.writeEndHeight(1);
    await w.append(enc('y'));
    expect(texts(await w.recordsAfterEndHeight(1))).toEqual(['y']);
  });

  it('group commit: many concurrent sync appends share few fsyncs', async () => {
    const w = await openWal();
    const before = w.stats().fsyncs;
    await Promise.all(Array.from({ length: 200 }, (_, i) => w.append(enc(`c${i}`), { sync: true })));
    const used = w.stats().fsyncs - before;
    expect(used).toBeGreaterThanOrEqual(1);
    expect(used).toBeLessThanOrEqual(3);
    expect(w.stats().appends).toBe(200);
    expect((await w.recordsAfterEndHeight(0))?.length).toBe(200);
  });

  it('rotates segments at the size cap and reads records across segments', async () => {
    const w = await openWal({ segmentBytesMax: 256, segmentsMax: 1000 });
    const payload = (i: number): string => `record-${String(i).padStart(4, '0')}-${'x'.repeat(40)}`;
    for (let i = 0; i < 40; i++) {
      await w.append(enc(payload(i)), { sync: i % 3 === 0 });
      if (i === 19) await w.writeEndHeight(1);
    }
    await w.sync();
    const files = (await readdir(walDir())).sort();
    expect(files.length).toBeGreaterThan(5);
    expect(files).toEqual(w.segmentFiles());
    for (const f of files) expect((await stat(join(walDir(), f))).size).toBeLessThanOrEqual(256);
    expect(w.stats().rotations).toBe(files.length - 1);
    await w.close();
    const r = await openWal({ segmentBytesMax: 256, segmentsMax: 1000 });
    expect(texts(await r.recordsAfterEndHeight(1))).toEqual(
      Array.from({ length: 20 }, (_, i) => payload(i + 20)),
    );
    expect((await r.recordsAfterEndHeight(0))?.length).toBe(40);
  });

  it('a record larger than the segment cap gets a segment of its own', async () => {
    const w = await openWal({ segmentBytesMax: 100 });
    await w.append(new Uint8Array(500).fill(7), { sync: true });
    await w.append(enc('small'), { sync: true });
    const records = await w.recordsAfterEndHeight(0);
    expect(records?.map((r) => r.data.length)).toEqual([500, 5]);
    expect(w.segmentFiles().length).toBe(3);
  });

  it('deletes the oldest segments beyond segmentsMax but keeps the latest marker', async () => {
    const w = await openWal({ segmentBytesMax: 200, segmentsMax: 3 });
    for (let h = 1; h <= 30; h++) {
      await w.append(enc(`vote-${h}-${'v'.repeat(60)}`), { sync: true });
      await w.writeEndHeight(h);
    }
    await w.append(enc('tail'), { sync: true });
    const files = await readdir(walDir());
    expect(files.length).toBeLessThanOrEqual(3);
    expect(files).not.toContain(segmentFileName(1));
    expect(texts(await w.recordsAfterEndHeight(30))).toEqual(['tail']);
    expect(await w.recordsAfterEndHeight(1)).toBeUndefined();
    // Segments written after the latest marker are never deleted, however many there are.
    for (let i = 0; i < 20; i++) await w.append(enc(`no-marker-${i}-${'n'.repeat(60)}`), { sync: true });
    expect(texts(await w.recordsAfterEndHeight(30))?.length).toBe(21);
  });

  describe('torn tail recovery', () => {
    const N = 6;
    const payload = (i: number): string => `rec-${i}-${'p'.repeat(i * 3)}`;

    async function writeRecords(): Promise<number[]> {
      const w = await openWal();
      const ends: number[] = [];
      let offset = HEADER + BASE_MARKER;
      for (let i = 0; i < N; i++) {
        await w.append(enc(payload(i)), { sync: true });
        offset += frameBytes(enc(payload(i)).length);
        ends.push(offset);
      }
      await w.close();
      wal = undefined;
      return ends;
    }

    it('truncating the file at every byte of the last records loses only incomplete records', async () => {
      const ends = await writeRecords();
      const original = await readFile(segment());
      const firstCut = ends[N - 3]!;
      for (let cut = firstCut; cut <= original.length; cut++) {
        await writeFile(segment(), original.subarray(0, cut));
        const w = await openWal();
        const complete = ends.filter((e) => e <= cut).length;
        expect(texts(await w.recordsAfterEndHeight(0))).toEqual(
          Array.from({ length: complete }, (_, i) => payload(i)),
        );
        const validEnd = complete === 0 ? HEADER + BASE_MARKER : ends[complete - 1]!;
        expect(w.recovery.truncatedBytes).toBe(cut - validEnd);
        expect((await stat(segment())).size).toBe(validEnd);
        // The WAL carries on after recovery.
        await w.append(enc('after'), { sync: true });
        await w.close();
        const again = await openWal();
        expect(texts(await again.recordsAfterEndHeight(0))?.at(-1)).toBe('after');
        expect(again.recovery.truncatedBytes).toBe(0);
        await again.close();
        wal = undefined;
      }
    });

    it('a bad checksum in the last record is a torn tail', async () => {
      const ends = await writeRecords();
      const bytes = await readFile(segment());
      bytes[ends[N - 1]! - 2]! ^= 0x40;
      await writeFile(segment(), bytes);
      const w = await openWal();
      expect(w.recovery.reason).toBe('checksum mismatch');
      expect(w.recovery.truncatedAtOffset).toBe(ends[N - 2]);
      expect((await w.recordsAfterEndHeight(0))?.length).toBe(N - 1);
    });

    it('zeros or garbage after the last record are cut', async () => {
      await writeRecords();
      await appendFile(segment(), new Uint8Array(4096));
      const w = await openWal();
      expect(w.recovery.truncatedBytes).toBe(4096);
      expect((await w.recordsAfterEndHeight(0))?.length).toBe(N);
      await w.close();
      await appendFile(segment(), enc('garbage that is not a frame at all'));
      const w2 = await openWal();
      expect(w2.recovery.truncatedBytes).toBe(34);
      expect((await w2.recordsAfterEndHeight(0))?.length).toBe(N);
    });

    it('a segment torn while it was being created gets its header back', async () => {
      const w = await openWal();
      await w.append(enc('one'), { sync: true });
      await w.close();
      wal = undefined;
      await writeFile(segment(2), enc('SYNO'));
      const r = await openWal();
      expect(r.recovery.reason).toBe('torn header');
      expect(r.segmentFiles()).toEqual([segmentFileName(1), segmentFileName(2)]);
      await r.append(enc('two'), { sync: true });
      expect(texts(await r.recordsAfterEndHeight(0))).toEqual(['one', 'two']);
    });
  });

  describe('corruption that is not a torn tail', () => {
    async function writeTen(): Promise<number[]> {
      const w = await openWal();
      const starts: number[] = [];
      let offset = HEADER + BASE_MARKER;
      for (let i = 0; i < 10; i++) {
        starts.push(offset);
        await w.append(enc(`record-${i}`), { sync: true });
        offset += frameBytes(8);
      }
      await w.close();
      wal = undefined;
      return starts;
    }

    it('a bad record followed by valid ones stops the open with WAL_CORRUPT and repair steps', async () => {
      const starts = await writeTen();
      const bytes = await readFile(segment());
      bytes[starts[3]! + 10]! ^= 0x01;
      await writeFile(segment(), bytes);
      const err = await rejection(openWal());
      expect(isSynodError(err, 'WAL_CORRUPT')).toBe(true);
      const e = err as SynodError;
      expect(e.message).toContain(segment());
      expect(e.message).toContain(`offset ${starts[3]}`);
      expect(e.message).toContain(`truncate -s ${starts[3]} ${segment()}`);
      expect(e.message).toContain('signer state');
      // Cutting the WAL is not "safe": it can make the validator forget its lock (amnesia).
      expect(e.message).not.toContain('safe');
      expect(e.message).toContain('lock');
      expect(e.message).toContain('amnesia');
      expect(e.details).toMatchObject({ offset: starts[3], file: segmentFileName(1) });
      // The file was not modified by the failed open.
      expect((await readFile(segment())).equals(bytes)).toBe(true);
      // Following the repair advice works: the records before the damage survive.
      await truncate(segment(), starts[3]);
      const w = await openWal();
      expect(texts(await w.recordsAfterEndHeight(0))).toEqual(['record-0', 'record-1', 'record-2']);
    });

    it('a damaged length field in the middle is corruption too', async () => {
      const starts = await writeTen();
      const bytes = await readFile(segment());
      bytes[starts[5]!] = 0x7f;
      await writeFile(segment(), bytes);
      expect(isSynodError(await rejection(openWal()), 'WAL_CORRUPT')).toBe(true);
    });

    it('damage in an older segment is reported when it is read', async () => {
      const w = await openWal({ segmentBytesMax: 128, segmentsMax: 100 });
      for (let i = 0; i < 20; i++) await w.append(enc(`older-${i}-${'o'.repeat(30)}`), { sync: true });
      await w.close();
      const bytes = await readFile(segment(1));
      bytes[HEADER + BASE_MARKER + 12]! ^= 0xff;
      await writeFile(segment(1), bytes);
      const r = await openWal({ segmentBytesMax: 128, segmentsMax: 100 });
      const err = await rejection(r.recordsAfterEndHeight(0));
      expect(isSynodError(err, 'WAL_CORRUPT')).toBe(true);
      expect((err as Error).message).toContain(segmentFileName(2));
    });

    it('a file that is not a WAL segment, or a missing segment, is rejected', async () => {
      const w = await openWal({ segmentBytesMax: 64, segmentsMax: 100 });
      for (let i = 0; i < 6; i++) await w.append(enc(`gap-${i}-${'g'.repeat(30)}`), { sync: true });
      await w.close();
      wal = undefined;
      const files = (await readdir(walDir())).sort();
      expect(files.length).toBeGreaterThan(3);
      await rm(join(walDir(), files[1]!));
      const gap = await rejection(openWal());
      expect(isSynodError(gap, 'WAL_CORRUPT')).toBe(true);
      expect((gap as Error).message).toContain('missing segment');
      await rm(walDir(), { recursive: true });
      await mkdir(walDir());
      await writeFile(segment(1), enc('NOTAWAL!0000 and more bytes here'));
      const bad = await rejection(openWal());
      expect(isSynodError(bad, 'WAL_CORRUPT')).toBe(true);
      expect((bad as Error).message).toContain('SYNODWAL magic');
    });
  });

  it('by default admits a record of LIMITS.walRecordBytesMax (a proposal with the largest block) and replays it', async () => {
    const w = await openWal();
    const big = new Uint8Array(LIMITS.walRecordBytesMax);
    big[0] = 1;
    big[big.length - 1] = 2;
    await w.append(big, { sync: true });
    expect(
      isSynodError(
        await rejection(w.append(new Uint8Array(LIMITS.walRecordBytesMax + 1))),
        'ENCODE_INVALID_VALUE',
      ),
    ).toBe(true);
    await w.close();
    const again = await openWal();
    const records = await again.recordsAfterEndHeight(0);
    expect(records?.map((r) => r.data.length)).toEqual([LIMITS.walRecordBytesMax]);
    const data = records?.[0]?.data as Uint8Array;
    expect([data[0], data[data.length - 1]]).toEqual([1, 2]);
  });

  it('rejects bad input and use after close with typed errors', async () => {
    const w = await openWal({ recordBytesMax: 16 });
    expect(isSynodError(await rejection(w.append(new Uint8Array(17))), 'ENCODE_INVALID_VALUE')).toBe(true);
    expect(isSynodError(await rejection(w.append('text' as unknown as Uint8Array)))).toBe(true);
    expect(isSynodError(await rejection(w.writeEndHeight(-1)), 'ENCODE_INVALID_VALUE')).toBe(true);
    await w.append(new Uint8Array(16), { sync: true });
    await w.close();
    await w.close();
    expect(isSynodError(await rejection(w.append(enc('x'))), 'STORAGE_CLOSED')).toBe(true);
    expect(isSynodError(await rejection(w.recordsAfterEndHeight(0)), 'STORAGE_CLOSED')).toBe(true);
    expect(isSynodError(await rejection(openFileWal(walDir(), { baseHeight: -3 })), 'CONFIG_INVALID')).toBe(
      true,
    );
  });

  it('reports its disk usage', async () => {
    const w = await openWal();
    await w.append(new Uint8Array(1000), { sync: true });
    expect(await w.diskUsage()).toBe(HEADER + BASE_MARKER + frameBytes(1000));
  });

  it('refuses appends once close has begun', async () => {
    const w = await openWal();
    await w.append(enc('before'));
    const closing = w.close();
    expect(isSynodError(await rejection(w.append(enc('during'))), 'STORAGE_CLOSED')).toBe(true);
    await closing;
    const r = await openWal();
    expect(texts(await r.recordsAfterEndHeight(0))).toEqual(['before']);
  });

  it('close flushes buffered appends', async () => {
    const w = await openWal();
    await w.append(enc('buffered-1'));
    await w.append(enc('buffered-2'));
    await w.close();
    const r = await openWal();
    expect(texts(await r.recordsAfterEndHeight(0))).toEqual(['buffered-1', 'buffered-2']);
  });
});
