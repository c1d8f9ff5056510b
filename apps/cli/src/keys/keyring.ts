/**
 * The keyring: one JSON file per key in a folder (mode 0700, files 0600),
 * as Cosmos' `--keyring-backend file|test`:
 *
 * - `file` (default): the private key is encrypted with a passphrase —
 *   scrypt (N = 2^15, r = 8, p = 1) derives a 32-byte key from it and
 *   XChaCha20-Poly1305 (@noble/ciphers, 24-byte random nonce) seals the
 *   seed, with the record's name, address and public key as associated
 *   data (so a ciphertext moved to another record does not open). A wrong
 *   passphrase fails the Poly1305 tag: WRONG_PASSPHRASE.
 * - `test`: the seed in clear (for local networks and scripts only).
 *
 * The public part (name, address, public key, how the key was made) is in
 * clear in both, so `keys list` and `keys show` need no passphrase.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import {
  addressFromPublicKey,
  bytesEqual,
  fromHex,
  type KeyPair,
  keyPairFromSeed,
  toHex,
} from '@synod/crypto';
import { CliError } from '../errors.js';

export const KEYRING_BACKENDS = ['file', 'test'] as const;
export type KeyringBackend = (typeof KEYRING_BACKENDS)[number];

/** How the key came to be. */
export type KeySource = 'mnemonic' | 'import';

/** What anyone may see of a key. */
export interface KeyInfo {
  readonly name: string;
  readonly type: 'ed25519';
  readonly address: string;
  readonly publicKey: string;
  readonly source: KeySource;
  /** The SLIP-0010 path of a key recovered or made from a mnemonic. */
  readonly hdPath?: string;
}

/** Scrypt parameters and the sealed seed. */
export interface SealedSecret {
  readonly kdf: 'scrypt';
  readonly kdfparams: { readonly n: number; readonly r: number; readonly p: number; readonly salt: string };
  readonly cipher: 'xchacha20-poly1305';
  readonly nonce: string;
  readonly ciphertext: string;
}

interface KeyRecordV1 extends KeyInfo {
  readonly version: 1;
  readonly backend: KeyringBackend;
  /** `test` backend: the seed, hex. */
  readonly privateKey?: string;
  /** `file` backend. */
  readonly crypto?: SealedSecret;
}

/** Default scrypt cost: 2^15 × 8 × 128 B = 32 MiB, ~0.1–0.3 s. */
export const SCRYPT_DEFAULTS = Object.freeze({ n: 2 ** 15, r: 8, p: 1 });
/** The most a file may ask of scrypt when read (bounds the memory and time a hostile file can cost). */
const SCRYPT_N_MAX = 2 ** 20;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const RECORD_BYTES_MAX = 64 * 1024;

/** `$SYNOD_HOME`, else `~/.synod`. */
export function synodHome(env: NodeJS.ProcessEnv = process.env): string {
  const h = env.SYNOD_HOME;
  return h !== undefined && h !== '' ? h : join(homedir(), '.synod');
}

/** The keyring folder of a backend: `--keyring-dir`, else `$SYNOD_HOME/keyring-<backend>`. */
export function keyringDir(backend: KeyringBackend, dir?: string): string {
  return dir ?? join(synodHome(), `keyring-${backend}`);
}

export function checkKeyName(name: string): string {
  if (!NAME_RE.test(name))
    throw new CliError(
      'USAGE',
      `key name ${JSON.stringify(name)}: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  return name;
}

export function parseBackend(text: string): KeyringBackend {
  if ((KEYRING_BACKENDS as readonly string[]).includes(text)) return text as KeyringBackend;
  throw new CliError('USAGE', `--keyring-backend ${JSON.stringify(text)}: expected one of file, test`);
}

function associatedData(info: Pick<KeyInfo, 'name' | 'address' | 'publicKey'>): Uint8Array {
  return new TextEncoder().encode(`synod-keyring/v1\n${info.name}\n${info.address}\n${info.publicKey}`);
}

async function kdf(passphrase: string, salt: Uint8Array, p: { n: number; r: number; p: number }) {
  return scryptAsync(passphrase.normalize('NFKD'), salt, {
    N: p.n,
    r: p.r,
    p: p.p,
    dkLen: 32,
    maxmem: 2 ** 31,
  });
}

/** Seals a 32-byte seed with a passphrase (scrypt + XChaCha20-Poly1305), binding `aad`. */
export async function seal(
  seed: Uint8Array,
  passphrase: string,
  aad: Uint8Array,
  params: { n: number; r: number; p: number } = SCRYPT_DEFAULTS,
): Promise<SealedSecret> {
  const salt = randomBytes(32);
  const nonce = randomBytes(24);
  const key = await kdf(passphrase, salt, params);
  try {
    const ciphertext = xchacha20poly1305(key, nonce, aad).encrypt(seed);
    return {
      kdf: 'scrypt',
      kdfparams: { n: params.n, r: params.r, p: params.p, salt: toHex(salt) },
      cipher: 'xchacha20-poly1305',
      nonce: toHex(nonce),
      ciphertext: toHex(ciphertext),
    };
  } finally {
    key.fill(0);
  }
}

/** Opens a sealed seed; WRONG_PASSPHRASE when the tag does not verify. */
export async function unseal(
  sealed: SealedSecret,
  passphrase: string,
  aad: Uint8Array,
  where: string,
): Promise<Uint8Array> {
  const bad = (why: string): CliError => new CliError('KEYRING_INVALID', `${where}: ${why}`);
  if (sealed?.kdf !== 'scrypt' || sealed.cipher !== 'xchacha20-poly1305') throw bad('unknown kdf or cipher');
  const { n, r, p, salt } = sealed.kdfparams ?? ({} as SealedSecret['kdfparams']);
  const pow2 = Number.isSafeInteger(n) && n >= 2 && n <= SCRYPT_N_MAX && (n & (n - 1)) === 0;
  if (!pow2 || !Number.isSafeInteger(r) || r < 1 || r > 32 || !Number.isSafeInteger(p) || p < 1 || p > 16)
    throw bad(`scrypt parameters out of bounds (n a power of 2 up to 2^20, r ≤ 32, p ≤ 16)`);
  let saltBytes: Uint8Array;
  let nonce: Uint8Array;
  let ciphertext: Uint8Array;
  try {
    saltBytes = fromHex(salt);
    nonce = fromHex(sealed.nonce);
    ciphertext = fromHex(sealed.ciphertext);
  } catch {
    throw bad('salt, nonce or ciphertext is not hex');
  }
  if (nonce.length !== 24 || ciphertext.length !== 32 + 16)
    throw bad('nonce or ciphertext of the wrong length');
  const key = await kdf(passphrase, saltBytes, { n, r, p });
  try {
    return xchacha20poly1305(key, nonce, aad).decrypt(ciphertext);
  } catch {
    throw new CliError('WRONG_PASSPHRASE', `wrong passphrase for ${where}`);
  } finally {
    key.fill(0);
  }
}

/** Writes `text` to `path` with mode 0600 through a temporary file and a rename (all or nothing). */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  let done = false;
  try {
    try {
      await fh.chmod(0o600);
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    done = true;
  } finally {
    if (!done) await unlink(tmp).catch(() => undefined);
  }
}

export class Keyring {
  readonly dir: string;
  readonly backend: KeyringBackend;

  constructor(backend: KeyringBackend, dir?: string) {
    this.backend = backend;
    this.dir = keyringDir(backend, dir);
  }

  #path(name: string): string {
    return join(this.dir, `${checkKeyName(name)}.json`);
  }

  /** Creates the folder (0700) if needed; refuses one that group or others can access. */
  async #ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.#checkDir();
  }

  async #checkDir(): Promise<boolean> {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new CliError('KEYRING_INVALID', `keyring ${this.dir}: ${(err as Error).message}`);
    }
    if (!st.isDirectory()) throw new CliError('KEYRING_INVALID', `keyring ${this.dir} is not a folder`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new CliError(
        'KEYRING_INVALID',
        `keyring ${this.dir} has mode ${mode}: group and others must have no access; run \`chmod 700 ${this.dir}\``,
      );
    }
    return true;
  }

  async has(name: string): Promise<boolean> {
    try {
      await lstat(this.#path(name));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /**
   * Stores a key. The `file` backend needs `passphrase` (non-empty); the
   * `test` backend ignores it. KEY_EXISTS unless `overwrite`.
   */
  async add(
    name: string,
    keyPair: KeyPair,
    meta: { source: KeySource; hdPath?: string },
    passphrase?: string,
    options: { overwrite?: boolean; scrypt?: { n: number; r: number; p: number } } = {},
  ): Promise<KeyInfo> {
    checkKeyName(name);
    await this.#ensureDir();
    if (!options.overwrite && (await this.has(name)))
      throw new CliError(
        'KEY_EXISTS',
        `a key named ${name} already exists in ${this.dir} (delete it first, or pick another name)`,
      );
    const info: KeyInfo = {
      name,
      type: 'ed25519',
      address: toHex(addressFromPublicKey(keyPair.publicKey)),
      publicKey: toHex(keyPair.publicKey),
      source: meta.source,
      ...(meta.hdPath === undefined ? {} : { hdPath: meta.hdPath }),
    };
    let record: KeyRecordV1;
    if (this.backend === 'test') {
      record = { version: 1, backend: 'test', ...info, privateKey: toHex(keyPair.seed) };
    } else {
      if (passphrase === undefined || passphrase.length === 0)
        throw new CliError('USAGE', 'the file keyring needs a non-empty passphrase');
      const crypto = await seal(keyPair.seed, passphrase, associatedData(info), options.scrypt);
      record = { version: 1, backend: 'file', ...info, crypto };
    }
    await writePrivateFile(this.#path(name), `${JSON.stringify(record, null, 2)}\n`);
    return info;
  }

  async #read(name: string): Promise<KeyRecordV1> {
    const path = this.#path(name);
    let text: string;
    try {
      const st = await lstat(path);
      if (!st.isFile()) throw new CliError('KEYRING_INVALID', `${path} is not a regular file`);
      if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
        throw new CliError(
          'KEYRING_INVALID',
          `${path} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}: run \`chmod 600 ${path}\``,
        );
      if (st.size > RECORD_BYTES_MAX) throw new CliError('KEYRING_INVALID', `${path} is too large`);
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (err instanceof CliError) throw err;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new CliError(
          'UNKNOWN_KEY',
          `no key named ${name} in ${this.dir} (\`synod keys list --keyring-backend ${this.backend}\` shows them)`,
        );
      throw new CliError('KEYRING_INVALID', `${path}: ${(err as Error).message}`);
    }
    let rec: KeyRecordV1;
    try {
      rec = JSON.parse(text) as KeyRecordV1;
    } catch {
      throw new CliError('KEYRING_INVALID', `${path} is not JSON`);
    }
    if (typeof rec !== 'object' || rec === null || rec.version !== 1 || rec.name !== name)
      throw new CliError('KEYRING_INVALID', `${path}: not a version 1 record of key ${name}`);
    if (rec.backend !== this.backend)
      throw new CliError(
        'KEYRING_INVALID',
        `${path} is a ${String(rec.backend)} record in a ${this.backend} keyring`,
      );
    let publicKey: Uint8Array;
    try {
      publicKey = fromHex(rec.publicKey);
    } catch {
      throw new CliError('KEYRING_INVALID', `${path}: publicKey is not hex`);
    }
    if (publicKey.length !== 32 || rec.address !== toHex(addressFromPublicKey(publicKey)))
      throw new CliError('KEYRING_INVALID', `${path}: the address does not match the public key`);
    return rec;
  }

  /** The public part of a key (no passphrase needed). */
  async show(name: string): Promise<KeyInfo> {
    return publicInfo(await this.#read(name));
  }

  /** Every key, by name. */
  async list(): Promise<KeyInfo[]> {
    if (!(await this.#checkDir())) return [];
    const names = (await readdir(this.dir))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .filter((n) => NAME_RE.test(n))
      .sort();
    const out: KeyInfo[] = [];
    for (const n of names) out.push(await this.show(n));
    return out;
  }

  /** The key pair (the `file` backend asks `passphrase()` for the passphrase). */
  async keyPair(name: string, passphrase: () => Promise<string>): Promise<KeyPair> {
    const rec = await this.#read(name);
    const where = `key ${name}`;
    let seed: Uint8Array;
    if (rec.backend === 'test') {
      try {
        seed = fromHex(rec.privateKey ?? '');
      } catch {
        throw new CliError('KEYRING_INVALID', `${where}: privateKey is not hex`);
      }
      if (seed.length !== 32) throw new CliError('KEYRING_INVALID', `${where}: privateKey is not 32 bytes`);
    } else {
      if (rec.crypto === undefined) throw new CliError('KEYRING_INVALID', `${where}: no crypto section`);
      seed = await unseal(rec.crypto, await passphrase(), associatedData(rec), where);
    }
    const kp = keyPairFromSeed(seed);
    seed.fill(0);
    if (!bytesEqual(toBytes(rec.publicKey), kp.publicKey))
      throw new CliError('KEYRING_INVALID', `${where}: the private key does not match the public key`);
    return kp;
  }

  async delete(name: string): Promise<KeyInfo> {
    const info = await this.show(name);
    await unlink(this.#path(name));
    return info;
  }

  /** Sets the folder's mode back to 0700 (used after creating it elsewhere). */
  async protect(): Promise<void> {
    await chmod(this.dir, 0o700);
  }
}

function toBytes(hex: string): Uint8Array {
  return fromHex(hex);
}

function publicInfo(rec: KeyRecordV1): KeyInfo {
  return {
    name: rec.name,
    type: 'ed25519',
    address: rec.address,
    publicKey: rec.publicKey,
    source: rec.source,
    ...(rec.hdPath === undefined ? {} : { hdPath: rec.hdPath }),
  };
}

/** The export format (`keys export`): the public part and the seed sealed with an export passphrase. */
export interface ExportedKey {
  readonly type: 'synod/exported-key';
  readonly version: 1;
  readonly address: string;
  readonly publicKey: string;
  readonly crypto: SealedSecret;
}

const exportAad = (address: string, publicKey: string): Uint8Array =>
  new TextEncoder().encode(`synod-export/v1\n${address}\n${publicKey}`);

export async function exportKey(kp: KeyPair, passphrase: string): Promise<ExportedKey> {
  const address = toHex(addressFromPublicKey(kp.publicKey));
  const publicKey = toHex(kp.publicKey);
  return {
    type: 'synod/exported-key',
    version: 1,
    address,
    publicKey,
    crypto: await seal(kp.seed, passphrase, exportAad(address, publicKey)),
  };
}

export async function importExported(doc: ExportedKey, passphrase: string, where: string): Promise<KeyPair> {
  const seed = await unseal(doc.crypto, passphrase, exportAad(doc.address, doc.publicKey), where);
  const kp = keyPairFromSeed(seed);
  seed.fill(0);
  if (toHex(kp.publicKey) !== doc.publicKey)
    throw new CliError('KEYRING_INVALID', `${where}: the private key does not match the public key`);
  return kp;
}
