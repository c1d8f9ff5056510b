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
import { sha256 } from '@synod/crypto';
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
 * The signer state file. The store writes it in a two-slot form, 8,192
 * bytes: two slots of 4,096 bytes, each one line of JSON padded with spaces
 * to a newline at its last byte (a blank slot is spaces only):
 *
 *   {"version":2,"seq":7,"height":12,"round":0,"step":"prevote",
 *    "signBytes":"<hex>","signature":"<hex, 64 bytes>","sha256":"<hex>"}
 *
 * `sha256` is the hash of the line's text before `,"sha256":`. A save
 * overwrites the slot that does not hold the newest state (seq + 1 goes to
 * slot (seq + 1) mod 2) and fdatasyncs: one write and one flush of a block
 * the file already has, no new file, rename or folder sync (0.15 instead of
 * 0.83 ms per signature on the development VM). A write torn by a crash
 * fails its slot's hash, and the other slot still holds the state before
 * it, which is what the validator last returned a signature for. `load`
 * takes the valid slot with the highest seq.
 *
 * The store also reads the one-object form (`version` 1, no `seq` and no
 * `sha256`, what `encodeSignerState` writes): what an operator may write by
 * hand, and what earlier versions wrote. The next save replaces such a file
 * with the two-slot form, atomically (a temp file, renamed over it). `jq .`
 * prints either form.
 */
export const SIGNER_STATE_VERSION = 2;
/** The version of the one-object form. */
export const SIGNER_STATE_OBJECT_VERSION = 1;
/** Bytes per slot of the two-slot form (a file-system block: a write to one never touches the other). */
export const SIGNER_STATE_SLOT_BYTES = 4096;
const FILE_BYTES = 2 * SIGNER_STATE_SLOT_BYTES;
const SIGNATURE_BYTES = 64;
const HASH_FIELD = ',"sha256":"';
const SPACE = 0x20;
const NEWLINE = 0x0a;

function isSignStep(s: unknown): s is SignStep {
  return typeof s === 'string' && Object.hasOwn(SIGN_STEP_ORDER, s);
}

function isUint(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** The one-object form (version 1): what an operator may write by hand. */
export function encodeSignerState(state: LastSignState): string {
  return `${JSON.stringify(
    {
      version: SIGNER_STATE_OBJECT_VERSION,
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

/** The fields of a state in a parsed object; the reason when one is not valid. */
function stateFields(o: Record<string, unknown>): LastSignState | string {
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

function parseObject(text: string): Record<string, unknown> | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not a JSON object';
  return raw as Record<string, unknown>;
}

/** Parses the one-object form (version 1); returns the reason when it is not a valid state. */
export function decodeSignerState(text: string): LastSignState | string {
  const o = parseObject(text);
  if (typeof o === 'string') return o;
  if (o.version !== SIGNER_STATE_OBJECT_VERSION) return `unsupported version ${String(o.version)}`;
  return stateFields(o);
}

/** One slot of the two-slot form: the state's line, padded with spaces to a newline at its last byte. */
export function encodeSignerStateSlot(state: LastSignState, seq: number): Buffer {
  const body = JSON.stringify({
    version: SIGNER_STATE_VERSION,
    seq,
    height: state.height,
    round: state.round,
    step: state.step,
    signBytes: toHex(state.signBytes),
    signature: toHex(state.signature),
  }).slice(0, -1);
  const line = `${body}${HASH_FIELD}${toHex(sha256(Buffer.from(body, 'utf8')))}"}`;
  const out = Buffer.alloc(SIGNER_STATE_SLOT_BYTES, SPACE);
  if (out.write(line, 'utf8') !== Buffer.byteLength(line) || Buffer.byteLength(line) >= out.length)
    throw new SynodError(
      'SIGNER_STATE_WRITE_FAILED',
      `the signer state (${state.signBytes.length} bytes signed) does not fit a ${SIGNER_STATE_SLOT_BYTES}-byte slot`,
    );
  out[out.length - 1] = NEWLINE;
  return out;
}

/** One slot's state and seq; the reason when it holds none (blank, torn or damaged). */
function decodeSlot(bytes: Uint8Array): { state: LastSignState; seq: number } | string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8').trimEnd();
  if (text === '') return 'blank';
  const at = text.lastIndexOf(HASH_FIELD);
  if (at < 0) return 'no sha256';
  const o = parseObject(text);
  if (typeof o === 'string') return o;
  if (o.version !== SIGNER_STATE_VERSION) return `unsupported version ${String(o.version)}`;
  if (o.sha256 !== toHex(sha256(Buffer.from(text.slice(0, at), 'utf8')))) return 'sha256 does not match';
  if (!isUint(o.seq)) return 'seq must be a non-negative integer';
  const state = stateFields(o);
  return typeof state === 'string' ? state : { state, seq: o.seq };
}

/**
 * Decodes a signer state file in either form: the state and, for the two-slot
 * form, the seq of the slot it came from (undefined for the one-object form);
 * the reason when the file holds no valid state.
 */
export function decodeSignerStateFile(
  bytes: Uint8Array,
): { state: LastSignState; seq: number | undefined } | string {
  if (bytes.length !== FILE_BYTES) {
    const state = decodeSignerState(Buffer.from(bytes).toString('utf8'));
    return typeof state === 'string' ? state : { state, seq: undefined };
  }
  const slots = [0, 1].map((i) =>
    decodeSlot(bytes.subarray(i * SIGNER_STATE_SLOT_BYTES, (i + 1) * SIGNER_STATE_SLOT_BYTES)),
  );
  let best: { state: LastSignState; seq: number } | undefined;
  for (const s of slots) if (typeof s !== 'string' && (best === undefined || s.seq > best.seq)) best = s;
  return best ?? `neither slot holds a valid state (slot 0: ${slots[0]}; slot 1: ${slots[1]})`;
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

function writeFullySync(fd: number, data: Buffer, position: number): void {
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off, position + off);
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
 * `SignerStateStore` in one file (the two-slot form above). A save into a
 * file in that form whose newest seq this store knows (it loaded or wrote
 * it) overwrites the other slot in place and fdatasyncs it. Any other save —
 * the first one, one over a file in the one-object form, one after a failed
 * save — writes the whole file as `<path>.tmp`, fsyncs it, renames it over
 * `path` and fsyncs the folder, so the file holds either the old or the new
 * state, never a mix. The temp file is always a new file: a leftover one (a
 * crash before the rename) is removed by `load` (at start), before the first
 * write and after a failed one, and it is created with O_EXCL (`wx`, never
 * following a symlink planted there) and mode 0600. `load` rejects with
 * `STORAGE_CORRUPT` on a damaged file rather than pretending the validator
 * never signed. `close` releases the file (a later save opens it again).
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
  /** The seq of the newest slot on disk, when the file is in the two-slot form and this store knows it. */
  private seq: number | undefined;
  /** The file, open for in-place slot writes. */
  private fd: number | undefined;

  constructor(path: string) {
    this.path = path;
  }

  async load(): Promise<LastSignState | undefined> {
    await this.queue;
    this.release();
    await this.removeTemp();
    this.tempMayExist = false;
    let bytes: Uint8Array;
    try {
      bytes = await readFile(this.path);
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
    const decoded = decodeSignerStateFile(bytes);
    if (typeof decoded === 'string') {
      throw new SynodError(
        'STORAGE_CORRUPT',
        `signer state file ${this.path} is damaged (${decoded}). The validator refuses to sign without knowing ` +
          'what it last signed. Restore the file from a backup; or, only if you are certain this validator has ' +
          'not signed anything at or above the height you put in it, write a new file with that height.',
        { details: { path: this.path, reason: decoded } },
      );
    }
    this.seq = decoded.seq;
    return decoded.state;
  }

  save(state: LastSignState): Promise<void> {
    const snapshot = copyState(state);
    const run = this.queue.then(() => this.write(snapshot));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Closes the file (after the saves under way); a later save or load opens it again. */
  async close(): Promise<void> {
    await this.queue;
    this.release();
  }

  private release(): void {
    const fd = this.fd;
    this.fd = undefined;
    this.seq = undefined;
    if (fd !== undefined) closeSync(fd);
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
   * anyway, and file calls as promises cost 2.4× the CPU (each one a round trip through libuv's
   * thread pool). The price is that the event loop waits for the fdatasync (0.15 ms on the
   * development VM; a slow disk's flush time elsewhere).
   */
  private async write(state: LastSignState): Promise<void> {
    try {
      if (this.seq === undefined) this.replaceFile(state);
      else {
        const seq = this.seq + 1;
        const slot = encodeSignerStateSlot(state, seq);
        this.fd ??= openSync(this.path, 'r+');
        writeFullySync(this.fd, slot, (seq % 2) * SIGNER_STATE_SLOT_BYTES);
        fdatasyncSync(this.fd);
        this.seq = seq;
      }
    } catch (err) {
      // the slot may be torn: the next save replaces the whole file
      try {
        this.release();
      } catch {
        // the save failed already; closing is best effort
      }
      if (err instanceof SynodError) throw err;
      throw new SynodError(
        'SIGNER_STATE_WRITE_FAILED',
        `could not persist the signer state to ${this.path}: ${(err as Error).message}`,
        { cause: err, details: { path: this.path } },
      );
    }
  }

  /** Writes the whole file (the state as seq 1 in slot 1, slot 0 blank) as a temp file renamed over `path`. */
  private replaceFile(state: LastSignState): void {
    const tmp = `${this.path}.tmp`;
    const folder = dirname(this.path);
    const file = Buffer.alloc(FILE_BYTES, SPACE);
    file[SIGNER_STATE_SLOT_BYTES - 1] = NEWLINE;
    encodeSignerStateSlot(state, 1).copy(file, SIGNER_STATE_SLOT_BYTES);
    if (!this.folderMade) {
      mkdirSync(folder, { recursive: true });
      this.folderMade = true;
    }
    if (this.tempMayExist) rmSync(tmp, { force: true });
    this.tempMayExist = true;
    const fd = openExclusive(tmp);
    try {
      writeFullySync(fd, file, 0);
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
    this.seq = 1;
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
