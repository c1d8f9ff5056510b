import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, readFile, stat, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ConsensusWal,
  type Histogram,
  LIMITS,
  type Logger,
  type Metrics,
  noopLogger,
  noopMetrics,
  SynodError,
  type WalRecord,
} from '@synod/types';
import { asView } from '../bytes.js';
import { assertBytes, closedError } from '../errors.js';
import { fsyncDir, isErrno } from '../fs-util.js';
import {
  encodeDataFrame,
  encodeEndHeightFrame,
  FRAME_HEADER_BYTES,
  headerProblem,
  isTornHeader,
  RECORD_END_HEIGHT,
  SEGMENT_HEADER_BYTES,
  type SegmentScan,
  scanSegment,
  segmentHeader,
  type WalFrame,
} from './wal-format.js';

export interface FileWalOptions {
  /** A segment is closed and a new one started before it would grow past this. @default 64 MiB */
  readonly segmentBytesMax?: number;
  /**
   * Largest record payload accepted by `append`. @default LIMITS.walRecordBytesMax
   * (64 MiB + 4 KiB: a proposal with the largest block the wire format and the
   * consensus params allow). A smaller value makes a large honest proposal halt the engine.
   */
  readonly recordBytesMax?: number;
  /**
   * Keep at most this many segment files; older ones are deleted at rotation,
   * but never the segment holding the latest end-of-height marker or anything
   * after it. @default 16
   */
  readonly segmentsMax?: number;
  /** Unsynced appends are buffered in memory up to this many bytes before they are written. @default 1 MiB */
  readonly writeBufferBytes?: number;
  /** Height of the end-of-height marker written when a new (empty) WAL is created. @default 0 */
  readonly baseHeight?: number;
  readonly logger?: Logger;
  /** `synod_wal_fsync_seconds`: how long each fsync of the WAL takes (the node's signing waits on it). */
  readonly metrics?: Metrics;
}

/** What `openFileWal` repaired, if anything. */
export interface WalRecovery {
  /** Segment file whose torn tail was cut, if any. */
  readonly truncatedFile?: string;
  /** Offset the file was truncated at. */
  readonly truncatedAtOffset?: number;
  /** Bytes removed. */
  readonly truncatedBytes: number;
  /** Why (the first invalid frame's problem). */
  readonly reason?: string;
}

export interface WalStats {
  readonly appends: number;
  readonly writes: number;
  readonly fsyncs: number;
  readonly rotations: number;
  readonly segments: number;
}

const SEGMENT_RE = /^wal-(\d{12})\.log$/;
const DEFAULTS = {
  segmentBytesMax: 64 * 1024 * 1024,
  recordBytesMax: LIMITS.walRecordBytesMax,
  segmentsMax: 16,
  writeBufferBytes: 1024 * 1024,
  baseHeight: 0,
};

export function segmentFileName(id: number): string {
  return `wal-${String(id).padStart(12, '0')}.log`;
}

interface Waiter {
  readonly sync: boolean;
  resolve(): void;
  reject(err: unknown): void;
}

function repairAdvice(dir: string, file: string, offset: number, later: readonly string[]): string {
  const laterText =
    later.length === 0
      ? ''
      : ` and delete the later segment files (${later.map((f) => join(dir, f)).join(', ')})`;
  return (
    `To repair: stop the node and back up the folder ${dir}. The records after the bad one are lost by any ` +
    'repair, and with them possibly the lock the validator held at the unfinished height: restarted at ' +
    'once as a validator, it could prevote against its own earlier precommit (amnesia), which the ' +
    'signer state file does not prevent (it only refuses two different signatures for one ' +
    'height/round/step and anything below the last one signed). Never delete the signer state file. ' +
    'If its height is below the height the node resumes at (its last stored block + 1), nothing it ' +
    'signed is lost; otherwise keep the node from validating (stopped, or running without its ' +
    'validator key) until the network has decided that height. Then either ' +
    `(1) cut the segment at the bad record with \`truncate -s ${offset} ${join(dir, file)}\`${laterText}, ` +
    `or (2) move ${dir} away (the node creates a new WAL), and restart. See the @synod/storage README ` +
    '("Recovery and repair").'
  );
}

function corruptError(dir: string, file: string, offset: number, reason: string, later: readonly string[]) {
  return new SynodError(
    'WAL_CORRUPT',
    `consensus WAL segment ${join(dir, file)} is corrupt at byte offset ${offset} (${reason}) and is not a torn ` +
      `tail from a crash, so the node refuses to start from it. ${repairAdvice(dir, file, offset, later)}`,
    { details: { dir, file, offset, reason } },
  );
}

function ioError(what: string, err: unknown): SynodError {
  if (err instanceof SynodError) return err;
  return new SynodError('WAL_WRITE_FAILED', `consensus WAL: ${what} failed: ${(err as Error).message}`, {
    cause: err,
  });
}

async function listSegments(dir: string): Promise<number[]> {
  const ids: number[] = [];
  for (const name of await readdir(dir)) {
    const m = SEGMENT_RE.exec(name);
    if (m?.[1] !== undefined) ids.push(Number(m[1]));
  }
  return ids.sort((a, b) => a - b);
}

async function createSegment(
  dir: string,
  id: number,
  initialFrames: readonly Uint8Array[],
): Promise<FileHandle> {
  const handle = await open(join(dir, segmentFileName(id)), 'wx+', 0o600);
  try {
    const header = segmentHeader();
    const bytes = Buffer.concat([header, ...initialFrames]);
    await writeFully(handle, bytes, 0);
    await handle.datasync();
    await fsyncDir(dir);
    return handle;
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    if (bytesWritten <= 0) throw new Error('write returned 0 bytes');
    done += bytesWritten;
  }
}

/**
 * The consensus write-ahead log as append-only segment files (see
 * wal-format.ts and README.md). Appends are buffered in memory and written in
 * order; a `sync` append, a synced `writeEndHeight` or `sync()` flushes the
 * buffer and fsyncs, and concurrent sync requests share one fsync (group commit).
 */
export class FileConsensusWal implements ConsensusWal {
  readonly dir: string;
  readonly recovery: WalRecovery;
  private readonly opts: Required<Omit<FileWalOptions, 'logger' | 'metrics'>>;
  private readonly logger: Logger;
  private fsyncSeconds: Histogram = noopMetrics.histogram({ name: 'synod_wal_fsync_seconds', help: '' });
  private handle: FileHandle;
  private segmentIds: number[];
  private size: number;
  private unsynced = false;
  /** Segment holding the latest end-of-height marker, when known. */
  private lastMarkerSegment: number | undefined;
  private frames: Uint8Array[] = [];
  private framesBytes = 0;
  private waiters: Waiter[] = [];
  private loop: Promise<void> | undefined;
  private failure: SynodError | undefined;
  private closed = false;
  private closing = false;
  private counters = { appends: 0, writes: 0, fsyncs: 0, rotations: 0 };

  private constructor(
    dir: string,
    opts: Required<Omit<FileWalOptions, 'logger' | 'metrics'>>,
    logger: Logger,
    handle: FileHandle,
    segmentIds: number[],
    size: number,
    lastMarkerSegment: number | undefined,
    recovery: WalRecovery,
  ) {
    this.dir = dir;
    this.opts = opts;
    this.logger = logger;
    this.handle = handle;
    this.segmentIds = segmentIds;
    this.size = size;
    this.lastMarkerSegment = lastMarkerSegment;
    this.recovery = recovery;
  }

  /** Opens (creating if needed) the WAL in `dir` and recovers a torn tail. See `openFileWal`. */
  static async open(dir: string, options: FileWalOptions = {}): Promise<FileConsensusWal> {
    const opts = {
      segmentBytesMax: options.segmentBytesMax ?? DEFAULTS.segmentBytesMax,
      recordBytesMax: options.recordBytesMax ?? DEFAULTS.recordBytesMax,
      segmentsMax: Math.max(1, options.segmentsMax ?? DEFAULTS.segmentsMax),
      writeBufferBytes: options.writeBufferBytes ?? DEFAULTS.writeBufferBytes,
      baseHeight: options.baseHeight ?? DEFAULTS.baseHeight,
    };
    if (!Number.isSafeInteger(opts.baseHeight) || opts.baseHeight < 0) {
      throw new SynodError(
        'CONFIG_INVALID',
        `WAL baseHeight must be a non-negative integer, got ${opts.baseHeight}`,
      );
    }
    const logger = options.logger ?? noopLogger;
    try {
      await mkdir(dir, { recursive: true });
      const ids = await listSegments(dir);
      if (ids.length === 0) {
        const handle = await createSegment(dir, 1, [encodeEndHeightFrame(opts.baseHeight)]);
        const size = SEGMENT_HEADER_BYTES + encodeEndHeightFrame(opts.baseHeight).length;
        logger.info('created consensus WAL', { dir, baseHeight: opts.baseHeight });
        return new FileConsensusWal(dir, opts, logger, handle, [1], size, 1, {
          truncatedBytes: 0,
        }).#measured(options.metrics);
      }
      for (let i = 1; i < ids.length; i++) {
        if (ids[i] !== ids[i - 1]! + 1) {
          const missing = segmentFileName(ids[i - 1]! + 1);
          throw new SynodError(
            'WAL_CORRUPT',
            `consensus WAL in ${dir} is missing segment ${missing} (segments must be consecutive). ` +
              `To repair: stop the node, back up ${dir}, and delete the segments before the gap, or, if the ` +
              `validator's signer state file is intact, move ${dir} away and restart.`,
            { details: { dir, missing } },
          );
        }
      }
      const lastId = ids[ids.length - 1]!;
      const { size, hasMarker, recovery } = await recoverLastSegment(
        dir,
        lastId,
        opts.recordBytesMax,
        logger,
      );
      const handle = await open(join(dir, segmentFileName(lastId)), 'r+');
      return new FileConsensusWal(
        dir,
        opts,
        logger,
        handle,
        ids,
        size,
        hasMarker ? lastId : undefined,
        recovery,
      ).#measured(options.metrics);
    } catch (err) {
      throw ioError(`open ${dir}`, err);
    }
  }

  private checkUsable(what: string): void {
    if (this.closed || this.closing) throw closedError(`consensus WAL ${what}`);
    if (this.failure !== undefined) throw this.failure;
  }

  private enqueue(frame: Uint8Array): void {
    this.frames.push(frame);
    this.framesBytes += frame.length;
    this.counters.appends++;
  }

  async append(data: Uint8Array, options?: { sync?: boolean }): Promise<void> {
    this.checkUsable('append');
    assertBytes(data, 'WAL record');
    if (data.length > this.opts.recordBytesMax) {
      throw new SynodError(
        'ENCODE_INVALID_VALUE',
        `WAL record of ${data.length} bytes exceeds recordBytesMax ${this.opts.recordBytesMax}`,
      );
    }
    this.enqueue(encodeDataFrame(data));
    if (options?.sync === true) return this.flush(true);
    if (this.framesBytes >= this.opts.writeBufferBytes) return this.flush(false);
  }

  async writeEndHeight(height: number, options?: { sync?: boolean }): Promise<void> {
    this.checkUsable('writeEndHeight');
    if (!Number.isSafeInteger(height) || height < 0) {
      throw new SynodError(
        'ENCODE_INVALID_VALUE',
        `end-of-height marker needs a non-negative integer, got ${height}`,
      );
    }
    this.enqueue(encodeEndHeightFrame(height));
    // Unsynced, the marker still goes to the OS now: only a power cut before the next fsync can lose it.
    return this.flush(options?.sync !== false);
  }

  async sync(): Promise<void> {
    this.checkUsable('sync');
    return this.flush(true);
  }

  async recordsAfterEndHeight(height: number): Promise<WalRecord[] | undefined> {
    this.checkUsable('recordsAfterEndHeight');
    await this.flush(false);
    // Bytes before `limit` in the current segment are complete; later ones may be in flight.
    const ids = [...this.segmentIds];
    const currentId = ids[ids.length - 1]!;
    const limit = this.size;
    const after: WalRecord[][] = [];
    for (let i = ids.length - 1; i >= 0; i--) {
      const id = ids[i]!;
      let frames: WalFrame[];
      try {
        frames = await this.readSegmentStrict(id, id === currentId ? limit : undefined);
      } catch (err) {
        // Pruned while we were reading: the marker is older than what is kept.
        if (isErrno(err, 'ENOENT')) return undefined;
        throw ioError('read', err);
      }
      let markerIndex = -1;
      for (let j = frames.length - 1; j >= 0; j--) {
        const f = frames[j]!;
        if (f.type === 'endHeight' && f.height === height) {
          markerIndex = j;
          break;
        }
      }
      const dataAfter = (from: number): WalRecord[] =>
        frames.slice(from).flatMap((f) => (f.type === 'data' ? [{ data: f.data }] : []));
      if (markerIndex >= 0) {
        after.unshift(dataAfter(markerIndex + 1));
        return after.flat();
      }
      after.unshift(dataAfter(0));
    }
    return undefined;
  }

  private async readSegmentStrict(id: number, limit: number | undefined): Promise<WalFrame[]> {
    const file = segmentFileName(id);
    const whole = asView(await readFile(join(this.dir, file)));
    const buf = limit === undefined ? whole : whole.subarray(0, limit);
    const problem = headerProblem(buf);
    if (problem !== undefined) throw corruptError(this.dir, file, 0, problem, this.laterSegments(id));
    const scan: SegmentScan = scanSegment(buf, this.opts.recordBytesMax + 1);
    if (scan.problem !== undefined) {
      throw corruptError(this.dir, file, scan.problem.offset, scan.problem.reason, this.laterSegments(id));
    }
    return scan.frames;
  }

  private laterSegments(id: number): string[] {
    return this.segmentIds.filter((s) => s > id).map(segmentFileName);
  }

  #measured(metrics: Metrics | undefined): this {
    if (metrics !== undefined)
      this.fsyncSeconds = metrics.histogram({
        name: 'synod_wal_fsync_seconds',
        help: 'Time of one fsync of the consensus WAL (own votes and proposals wait on it)',
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      });
    return this;
  }

  /** fsync of the open segment, timed. */
  private async datasync(): Promise<void> {
    const started = performance.now();
    await this.handle.datasync();
    this.fsyncSeconds.observe((performance.now() - started) / 1000);
    this.counters.fsyncs++;
  }

  /** Flushes buffered frames; with `sync`, also fsyncs. Concurrent calls share writes and fsyncs. */
  private flush(sync: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ sync, resolve, reject });
      if (this.loop === undefined) this.loop = this.runLoop();
    });
  }

  private async runLoop(): Promise<void> {
    // Yield once so that appends made in the same tick join this cycle.
    await Promise.resolve();
    while (this.waiters.length > 0) {
      const waiters = this.waiters;
      const frames = this.frames;
      this.waiters = [];
      this.frames = [];
      this.framesBytes = 0;
      try {
        if (this.failure !== undefined) throw this.failure;
        await this.writeFrames(frames);
        if (waiters.some((w) => w.sync) && this.unsynced) {
          await this.datasync();
          this.unsynced = false;
        }
        for (const w of waiters) w.resolve();
      } catch (err) {
        // After a failed write or fsync the file's state is unknown: refuse everything from now on.
        this.failure ??= ioError('write', err);
        this.logger.error('consensus WAL write failed; the WAL refuses further writes', {
          dir: this.dir,
          error: this.failure.message,
        });
        for (const w of waiters) w.reject(this.failure);
      }
    }
    this.loop = undefined;
  }

  private async writeFrames(frames: readonly Uint8Array[]): Promise<void> {
    let chunk: Uint8Array[] = [];
    let chunkBytes = 0;
    const writeChunk = async (): Promise<void> => {
      if (chunkBytes === 0) return;
      const bytes = chunk.length === 1 ? chunk[0]! : Buffer.concat(chunk, chunkBytes);
      await writeFully(this.handle, bytes, this.size);
      this.counters.writes++;
      this.size += chunkBytes;
      this.unsynced = true;
      chunk = [];
      chunkBytes = 0;
    };
    for (const frame of frames) {
      const pending = this.size + chunkBytes;
      if (pending > SEGMENT_HEADER_BYTES && pending + frame.length > this.opts.segmentBytesMax) {
        await writeChunk();
        await this.rotate();
      }
      chunk.push(frame);
      chunkBytes += frame.length;
      if (frame[FRAME_HEADER_BYTES] === RECORD_END_HEIGHT)
        this.lastMarkerSegment = this.segmentIds[this.segmentIds.length - 1];
    }
    await writeChunk();
  }

  private async rotate(): Promise<void> {
    // The old segment is made complete and durable before the new one exists,
    // so only the last segment can ever have a torn tail.
    if (this.unsynced) {
      await this.datasync();
      this.unsynced = false;
    }
    await this.handle.close();
    const nextId = this.segmentIds[this.segmentIds.length - 1]! + 1;
    this.handle = await createSegment(this.dir, nextId, []);
    this.segmentIds.push(nextId);
    this.size = SEGMENT_HEADER_BYTES;
    this.counters.rotations++;
    this.counters.fsyncs++;
    await this.pruneSegments();
  }

  private async pruneSegments(): Promise<void> {
    const keepFrom = this.lastMarkerSegment;
    if (keepFrom === undefined) return;
    let removed = false;
    while (this.segmentIds.length > this.opts.segmentsMax && this.segmentIds[0]! < keepFrom) {
      const id = this.segmentIds.shift()!;
      await unlink(join(this.dir, segmentFileName(id)));
      removed = true;
    }
    if (removed) await fsyncDir(this.dir);
  }

  /** Counters for metrics and tests. */
  stats(): WalStats {
    return { ...this.counters, segments: this.segmentIds.length };
  }

  /** Segment file names, oldest first. */
  segmentFiles(): string[] {
    return this.segmentIds.map(segmentFileName);
  }

  /** Bytes used by the segment files. */
  async diskUsage(): Promise<number> {
    let total = 0;
    for (const id of this.segmentIds) {
      try {
        total += (await stat(join(this.dir, segmentFileName(id)))).size;
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw ioError('stat', err);
      }
    }
    return total;
  }

  /** Flushes and fsyncs everything, then closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    let flushError: unknown;
    if (this.failure === undefined) {
      await this.flush(true).catch((err: unknown) => {
        flushError = err;
      });
    }
    this.closed = true;
    await this.loop;
    await this.handle.close().catch(() => undefined);
    if (flushError !== undefined) throw flushError;
  }
}

async function recoverLastSegment(
  dir: string,
  id: number,
  recordBytesMax: number,
  logger: Logger,
): Promise<{ size: number; hasMarker: boolean; recovery: WalRecovery }> {
  const file = segmentFileName(id);
  const path = join(dir, file);
  const buf = asView(await readFile(path));
  if (isTornHeader(buf)) {
    // A crash while the segment was being created: rewrite its header.
    const handle = await open(path, 'r+');
    try {
      await handle.truncate(0);
      await writeFully(handle, segmentHeader(), 0);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    logger.warn('consensus WAL: rewrote the header of a segment torn at creation', { file: path });
    return {
      size: SEGMENT_HEADER_BYTES,
      hasMarker: false,
      recovery: {
        truncatedFile: path,
        truncatedAtOffset: 0,
        truncatedBytes: buf.length,
        reason: 'torn header',
      },
    };
  }
  const problem = headerProblem(buf);
  if (problem !== undefined) throw corruptError(dir, file, 0, problem, []);
  const scan = scanSegment(buf, recordBytesMax + 1);
  const hasMarker = scan.frames.some((f) => f.type === 'endHeight');
  if (scan.problem === undefined) return { size: buf.length, hasMarker, recovery: { truncatedBytes: 0 } };
  if (scan.problem.nextValidOffset !== undefined) {
    throw corruptError(
      dir,
      file,
      scan.problem.offset,
      `${scan.problem.reason}; a valid record follows at offset ${scan.problem.nextValidOffset}`,
      [],
    );
  }
  // A torn tail: a write that a crash interrupted. Cut it and carry on.
  await truncate(path, scan.validEnd);
  const handle = await open(path, 'r+');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
  const recovery: WalRecovery = {
    truncatedFile: path,
    truncatedAtOffset: scan.validEnd,
    truncatedBytes: buf.length - scan.validEnd,
    reason: scan.problem.reason,
  };
  logger.warn('consensus WAL: truncated a torn tail left by a crash', { ...recovery });
  return { size: scan.validEnd, hasMarker, recovery };
}

/**
 * Opens the consensus WAL in folder `dir` (created if missing, with an
 * end-of-height marker for `baseHeight`). A torn tail of the last segment (an
 * incomplete or bad-checksum record with nothing valid after it) is truncated;
 * any other damage rejects with `WAL_CORRUPT`, whose message names the file and
 * offset and says how to repair.
 */
export function openFileWal(dir: string, options?: FileWalOptions): Promise<FileConsensusWal> {
  return FileConsensusWal.open(dir, options);
}
