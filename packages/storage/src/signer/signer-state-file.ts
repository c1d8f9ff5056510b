import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type LastSignState,
  SIGN_STEP_ORDER,
  type SignerStateStore,
  type SignStep,
  SynodError,
} from '@synod/types';
import { fromHex, toHex } from '../bytes.js';
import { isErrno } from '../fs-util.js';

/**
 * The signer state file: one JSON object, replaced atomically.
 *
 *   { "version": 1, "height": 12, "round": 0, "step": "prevote",
 *     "signBytes": "<hex>", "signature": "<hex, 64 bytes>" }
 */
export const SIGNER_STATE_VERSION = 1;
const SIGNATURE_BYTES = 64;

function isSignStep(s: unknown): s is SignStep {
  return typeof s === 'string' && Object.hasOwn(SIGN_STEP_ORDER, s);
}

function isUint(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

export function encodeSignerState(state: LastSignState): string {
  return `${JSON.stringify(
    {
      version: SIGNER_STATE_VERSION,
      height: state.height,
      round: state.round,
      step: state.step,
      signBytes: toHex(state.signBytes),
      signature: toHex(state.signature),
    },
    null,
    2,
  )}\n`;
}

/** Parses the file's text; returns the reason when it is not a valid state. */
export function decodeSignerState(text: string): LastSignState | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not a JSON object';
  const o = raw as Record<string, unknown>;
  if (o.version !== SIGNER_STATE_VERSION) return `unsupported version ${String(o.version)}`;
  if (!isUint(o.height)) return 'height must be a non-negative integer';
  if (!isUint(o.round)) return 'round must be a non-negative integer';
  if (!isSignStep(o.step)) return `unknown step ${String(o.step)}`;
  const signBytes = typeof o.signBytes === 'string' ? fromHex(o.signBytes) : undefined;
  if (signBytes === undefined) return 'signBytes must be hex';
  const signature = typeof o.signature === 'string' ? fromHex(o.signature) : undefined;
  if (signature === undefined || signature.length !== SIGNATURE_BYTES)
    return 'signature must be 64 bytes of hex';
  return { height: o.height, round: o.round, step: o.step, signBytes, signature };
}

/** Creates `tmp` (O_EXCL, 0600); one that appeared since the last save (planted there) is removed first. */
function openExclusive(tmp: string): number {
  try {
    return openSync(tmp, 'wx', 0o600);
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw err;
    rmSync(tmp, { force: true });
    return openSync(tmp, 'wx', 0o600);
  }
}

function writeFullySync(fd: number, data: Buffer): void {
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
}

function copyState(s: LastSignState): LastSignState {
  return {
    height: s.height,
    round: s.round,
    step: s.step,
    signBytes: new Uint8Array(s.signBytes),
    signature: new Uint8Array(s.signature),
  };
}

/**
 * `SignerStateStore` in one file. `save` writes `<path>.tmp`, fsyncs it,
 * renames it over `path` and fsyncs the folder, so after a crash the file holds
 * either the old or the new state, never a mix. The temp file is always a new
 * file: a leftover one (a crash before the rename) is removed by `load` (at
 * start), before the first write and after a failed one, and it is created
 * with O_EXCL (`wx`, never
 * following a symlink planted there) and mode 0600. `load` rejects with
 * `STORAGE_CORRUPT` on a damaged file rather than pretending the validator
 * never signed.
 */
export class FileSignerStateStore implements SignerStateStore {
  readonly path: string;
  private queue: Promise<void> = Promise.resolve();
  /** The folder exists (made by an earlier save). */
  private folderMade = false;
  /**
   * `<path>.tmp` may exist: before the first save (a crash can leave one when `load` was not
   * called) and after a failed one. A successful save renames it away, so the next one need not
   * remove it (each removal is one more file-system call on the signing path).
   */
  private tempMayExist = true;

  constructor(path: string) {
    this.path = path;
  }

  async load(): Promise<LastSignState | undefined> {
    await this.removeTemp();
    this.tempMayExist = false;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw new SynodError(
        'STORAGE_CORRUPT',
        `cannot read the signer state file ${this.path}: ${String(err)}`,
        {
          cause: err,
          details: { path: this.path },
        },
      );
    }
    const state = decodeSignerState(text);
    if (typeof state === 'string') {
      throw new SynodError(
        'STORAGE_CORRUPT',
        `signer state file ${this.path} is damaged (${state}). The validator refuses to sign without knowing ` +
          'what it last signed. Restore the file from a backup; or, only if you are certain this validator has ' +
          'not signed anything at or above the height you put in it, write a new file with that height.',
        { details: { path: this.path, reason: state } },
      );
    }
    return state;
  }

  save(state: LastSignState): Promise<void> {
    const snapshot = copyState(state);
    const run = this.queue.then(() => this.write(snapshot));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Removes `<path>.tmp` left by a crash (or a failed write); a failure here is a failed load. */
  private async removeTemp(): Promise<void> {
    try {
      await rm(`${this.path}.tmp`, { force: true });
    } catch (err) {
      throw new SynodError(
        'STORAGE_CORRUPT',
        `cannot remove the leftover temp file ${this.path}.tmp: ${String(err)}`,
        { cause: err, details: { path: this.path } },
      );
    }
  }

  /**
   * Synchronous file calls, on purpose: a save is on the signing path, where consensus waits for it
   * anyway, and the seven calls as promises cost 2.4× the CPU (each one a round trip through
   * libuv's thread pool): 870 µs → 370 µs of CPU and 1.4 → 0.66 ms per sign on the development
   * VM. The price is that the event loop waits for the two fsyncs (0.2 ms there; a slow disk's
   * fsync time, twice per signature, elsewhere).
   */
  private async write(state: LastSignState): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const folder = dirname(this.path);
    try {
      if (!this.folderMade) {
        mkdirSync(folder, { recursive: true });
        this.folderMade = true;
      }
      if (this.tempMayExist) rmSync(tmp, { force: true });
      this.tempMayExist = true;
      const fd = openExclusive(tmp);
      try {
        writeFullySync(fd, Buffer.from(encodeSignerState(state), 'utf8'));
        // a new file's data and size: what reading it back after a crash needs
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.path);
      this.tempMayExist = false;
      const dir = openSync(folder, 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    } catch (err) {
      throw new SynodError(
        'SIGNER_STATE_WRITE_FAILED',
        `could not persist the signer state to ${this.path}: ${(err as Error).message}`,
        { cause: err, details: { path: this.path } },
      );
    }
  }
}

/** A `SignerStateStore` in memory with the file store's semantics (copies in and out). */
export class MemorySignerStateStore implements SignerStateStore {
  private state: LastSignState | undefined;
  /** Number of completed saves. */
  saves = 0;

  constructor(initial?: LastSignState) {
    this.state = initial === undefined ? undefined : copyState(initial);
  }

  async load(): Promise<LastSignState | undefined> {
    return this.state === undefined ? undefined : copyState(this.state);
  }

  async save(state: LastSignState): Promise<void> {
    this.state = copyState(state);
    this.saves++;
  }
}
