/**
 * Validator and node key files.
 *
 * Format (JSON, UTF-8, one object, exactly these four fields):
 *
 *   {
 *     "type": "synod/validator-key",          // or "synod/node-key"
 *     "address": "<40 hex chars>",            // addressFromPublicKey(publicKey)
 *     "publicKey": "<64 hex chars>",          // 32-byte Ed25519 public key
 *     "privateKey": "<64 hex chars>"          // 32-byte Ed25519 seed (RFC 8032 private key)
 *   }
 *
 * Hex is lowercase when written; either case is accepted when read. The file
 * is written with mode 0600 through a temporary file in the same directory
 * (created 0600, written, fsynced, renamed over the target, directory fsynced),
 * so a crash leaves either the old file or the new one. Reading refuses (on
 * POSIX) a file that group or others may access, and checks that the public
 * key and the address match the seed.
 */

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, lstat, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { addressFromPublicKey } from './address.js';
import { bytesEqual, fromHex, isBytes, toHex } from './bytes.js';
import { type KeyPair, keyPairFromSeed, SEED_LENGTH } from './ed25519.js';
import { CryptoError } from './errors.js';

export const KEY_FILE_TYPES = ['synod/validator-key', 'synod/node-key'] as const;
export type KeyFileType = (typeof KEY_FILE_TYPES)[number];

/** The contents of a key file once read and checked. */
export interface KeyFile {
  readonly type: KeyFileType;
  readonly address: Uint8Array;
  readonly keyPair: KeyPair;
}

/** Key files are tiny; anything larger than this is not one. */
const MAX_KEY_FILE_BYTES = 64 * 1024;
const FIELDS = ['type', 'address', 'publicKey', 'privateKey'] as const;

function isKeyFileType(value: unknown): value is KeyFileType {
  return value === 'synod/validator-key' || value === 'synod/node-key';
}

function toKeyPair(key: KeyPair | Uint8Array): KeyPair {
  if (isBytes(key)) return keyPairFromSeed(key);
  if (typeof key === 'object' && key !== null && isBytes(key.seed)) {
    const kp = keyPairFromSeed(key.seed);
    if (!bytesEqual(kp.publicKey, key.publicKey)) {
      throw new TypeError('writeKeyFile: keyPair.publicKey does not match keyPair.seed');
    }
    return kp;
  }
  throw new TypeError('writeKeyFile: expected a KeyPair or a 32-byte seed');
}

/** The JSON text of a key file (with a trailing newline). */
export function encodeKeyFile(type: KeyFileType, key: KeyPair | Uint8Array): string {
  if (!isKeyFileType(type)) throw new TypeError(`writeKeyFile: unknown key file type ${String(type)}`);
  const kp = toKeyPair(key);
  const body = {
    type,
    address: toHex(addressFromPublicKey(kp.publicKey)),
    publicKey: toHex(kp.publicKey),
    privateKey: toHex(kp.seed),
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

function invalid(path: string, problem: string, cause?: unknown): CryptoError {
  return new CryptoError('KEY_FILE_INVALID', `invalid key file ${path}: ${problem}`, {
    cause,
    details: { path },
  });
}

function hexField(
  obj: Record<string, unknown>,
  field: string,
  length: number,
  path: string,
  secret: boolean,
): Uint8Array {
  const value = obj[field];
  const want = `"${field}" must be ${length * 2} hex characters (${length} bytes)`;
  if (typeof value !== 'string') throw invalid(path, want);
  let bytes: Uint8Array;
  try {
    bytes = fromHex(value);
  } catch {
    // never echo the private key
    throw invalid(path, secret ? want : `${want}, got ${JSON.stringify(value.slice(0, 80))}`);
  }
  if (bytes.length !== length) throw invalid(path, `${want}, got ${bytes.length} bytes`);
  return bytes;
}

/**
 * Parses and checks the JSON text of a key file. `path` is only used in error
 * messages. Throws CryptoError KEY_FILE_INVALID on any problem.
 */
export function decodeKeyFile(text: string, expectedType?: KeyFileType, path = '<key file>'): KeyFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalid(path, 'not valid JSON', err);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw invalid(path, 'expected a JSON object');
  }
  const obj = json as Record<string, unknown>;
  const unknown = Object.keys(obj).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) throw invalid(path, `unknown field(s) ${unknown.map((k) => `"${k}"`).join(', ')}`);
  const type = obj.type;
  if (!isKeyFileType(type)) {
    throw invalid(path, `"type" must be one of ${KEY_FILE_TYPES.map((t) => `"${t}"`).join(', ')}`);
  }
  if (expectedType !== undefined && type !== expectedType) {
    throw invalid(path, `"type" is "${type}", expected "${expectedType}"`);
  }
  const seed = hexField(obj, 'privateKey', SEED_LENGTH, path, true);
  const publicKey = hexField(obj, 'publicKey', 32, path, false);
  const address = hexField(obj, 'address', 20, path, false);
  const keyPair = keyPairFromSeed(seed);
  seed.fill(0);
  if (!bytesEqual(keyPair.publicKey, publicKey)) {
    throw invalid(path, '"publicKey" does not match the public key of "privateKey"');
  }
  if (!bytesEqual(addressFromPublicKey(keyPair.publicKey), address)) {
    throw invalid(path, '"address" does not match "publicKey"');
  }
  return { type, address, keyPair };
}

function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * Writes a key file atomically with mode 0600, replacing any file at `path`
 * (check for an existing key first if it must not be replaced). The directory
 * must exist.
 */
export async function writeKeyFile(
  path: string,
  type: KeyFileType,
  key: KeyPair | Uint8Array,
): Promise<void> {
  const text = encodeKeyFile(type, key);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  let renamed = false;
  try {
    try {
      await fh.chmod(0o600); // in case the file system ignored the mode given to open()
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    renamed = true;
  } finally {
    if (!renamed) await unlink(tmp).catch(() => undefined);
  }
  await syncDirectory(dir);
}

/** fsync a directory so a rename in it is durable; best effort (not possible on every platform). */
async function syncDirectory(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Windows and some file systems cannot fsync a directory.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/**
 * Reads and checks a key file. Throws CryptoError with code
 * - KEY_FILE_NOT_FOUND when there is no file at `path`;
 * - KEY_FILE_MODE when group or others have any permission on it (POSIX only);
 * - KEY_FILE_INVALID when it cannot be read, is not a regular file (checked
 *   before opening: a FIFO or device is never opened), is not JSON,
 *   has missing/unknown/mistyped fields or wrong key lengths, is of another
 *   type than `expectedType`, or its public key or address does not match the seed.
 */
export async function readKeyFile(path: string, expectedType?: KeyFileType): Promise<KeyFile> {
  let fh: FileHandle;
  try {
    // Look before opening: open() on a FIFO blocks until a writer appears (for
    // ever). A symlink is followed (mounted secrets are symlinks) but must lead
    // to a regular file too. O_NONBLOCK closes the race with a swap after the
    // check (it changes nothing for a regular file); fstat below checks again.
    let st = await lstat(path);
    if (st.isSymbolicLink()) st = await stat(path);
    if (!st.isFile()) throw invalid(path, 'not a regular file');
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if (err instanceof CryptoError) throw err;
    if (errnoCode(err) === 'ENOENT') {
      throw new CryptoError('KEY_FILE_NOT_FOUND', `key file not found: ${path}`, {
        cause: err,
        details: { path },
      });
    }
    throw invalid(path, `cannot open (${errnoCode(err) ?? String(err)})`, err);
  }
  let text: string;
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw invalid(path, 'not a regular file');
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new CryptoError(
        'KEY_FILE_MODE',
        `key file ${path} has mode ${mode}: group and others must have no access to a private key; run \`chmod 600 ${path}\``,
        { details: { path, mode } },
      );
    }
    if (st.size > MAX_KEY_FILE_BYTES) throw invalid(path, `too large (${st.size} bytes)`);
    try {
      text = await fh.readFile('utf8');
    } catch (err) {
      throw invalid(path, `cannot read (${errnoCode(err) ?? String(err)})`, err);
    }
  } finally {
    await fh.close();
  }
  return decodeKeyFile(text, expectedType, path);
}

/** Writes a validator key file ("synod/validator-key"). */
export function saveValidatorKey(path: string, key: KeyPair | Uint8Array): Promise<void> {
  return writeKeyFile(path, 'synod/validator-key', key);
}

/** Reads a validator key file; rejects a node key file. */
export async function loadValidatorKey(path: string): Promise<KeyPair> {
  return (await readKeyFile(path, 'synod/validator-key')).keyPair;
}

/** Writes a node (p2p identity) key file ("synod/node-key"). */
export function saveNodeKey(path: string, key: KeyPair | Uint8Array): Promise<void> {
  return writeKeyFile(path, 'synod/node-key', key);
}

/** Reads a node key file; rejects a validator key file. */
export async function loadNodeKey(path: string): Promise<KeyPair> {
  return (await readKeyFile(path, 'synod/node-key')).keyPair;
}
