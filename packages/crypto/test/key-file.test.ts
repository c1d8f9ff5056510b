import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressFromPublicKey } from '../src/address.js';
import { toHex } from '../src/bytes.js';
import { keyPairFromSeed } from '../src/ed25519.js';
import { CryptoError, type CryptoErrorCode, isCryptoError } from '../src/errors.js';
import {
  decodeKeyFile,
  encodeKeyFile,
  loadNodeKey,
  loadValidatorKey,
  readKeyFile,
  saveNodeKey,
  saveValidatorKey,
  writeKeyFile,
} from '../src/key-file.js';

const KEY = keyPairFromSeed(new Uint8Array(32).map((_, i) => i + 1));
const OTHER = keyPairFromSeed(new Uint8Array(32).fill(9));
const SEED_HEX = toHex(KEY.seed);
const posix = process.platform !== 'win32';

let dir = '';
let n = 0;
const fresh = (): string => join(dir, `key-${n++}.json`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synod-crypto-keys-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes raw JSON (mode 0600) to a fresh path. */
async function rawFile(body: unknown): Promise<string> {
  const path = fresh();
  await writeFile(path, typeof body === 'string' ? body : JSON.stringify(body), { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}

function validBody(): Record<string, unknown> {
  return JSON.parse(encodeKeyFile('synod/validator-key', KEY)) as Record<string, unknown>;
}

async function rejection(p: Promise<unknown>): Promise<CryptoError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CryptoError) return err;
    throw err;
  }
  throw new Error('expected a CryptoError, but the promise resolved');
}

async function expectCode(p: Promise<unknown>, code: CryptoErrorCode, message: RegExp): Promise<CryptoError> {
  const err = await rejection(p);
  expect(err.code).toBe(code);
  expect(err.message).toMatch(message);
  expect(err.message).not.toContain(SEED_HEX); // never leak the private key
  expect(isCryptoError(err, code)).toBe(true);
  return err;
}

describe('writing', () => {
  it('writes a 0600 JSON file with the documented fields; lowercase hex', async () => {
    const path = fresh();
    await saveValidatorKey(path, KEY);
    if (posix) expect((await stat(path)).mode & 0o777).toBe(0o600);
    const json = JSON.parse(await readFile(path, 'utf8')) as unknown;
    expect(json).toEqual({
      type: 'synod/validator-key',
      address: toHex(addressFromPublicKey(KEY.publicKey)),
      publicKey: toHex(KEY.publicKey),
      privateKey: SEED_HEX,
    });
  });

  it('round-trips validator and node keys; a seed is accepted in place of a key pair', async () => {
    const v = fresh();
    const nk = fresh();
    await saveValidatorKey(v, KEY);
    await saveNodeKey(nk, OTHER.seed);
    const loaded = await loadValidatorKey(v);
    expect(loaded.publicKey).toEqual(KEY.publicKey);
    expect(loaded.seed).toEqual(KEY.seed);
    expect((await loadNodeKey(nk)).publicKey).toEqual(OTHER.publicKey);
    const file = await readKeyFile(nk);
    expect(file.type).toBe('synod/node-key');
    expect(file.address).toEqual(addressFromPublicKey(OTHER.publicKey));
  });

  it('replaces an existing file atomically and leaves no temporary files behind', async () => {
    const sub = join(dir, 'replace');
    await mkdir(sub);
    const path = join(sub, 'priv_validator_key.json');
    await saveValidatorKey(path, KEY);
    await chmod(path, 0o644);
    await saveValidatorKey(path, OTHER);
    expect((await loadValidatorKey(path)).publicKey).toEqual(OTHER.publicKey);
    if (posix) expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(sub)).toEqual(['priv_validator_key.json']);
  });

  it('fails when the directory does not exist', async () => {
    await expect(saveValidatorKey(join(dir, 'missing-dir', 'k.json'), KEY)).rejects.toThrow(/ENOENT/);
  });

  it('refuses a key pair whose public key does not match its seed, and an unknown type', async () => {
    const forged = { publicKey: OTHER.publicKey, seed: KEY.seed, secretKey: KEY.seed };
    await expect(saveValidatorKey(fresh(), forged)).rejects.toThrow(TypeError);
    await expect(writeKeyFile(fresh(), 'synod/other' as 'synod/node-key', KEY)).rejects.toThrow(TypeError);
  });
});

describe('reading: errors', () => {
  it('missing file → KEY_FILE_NOT_FOUND', async () => {
    const path = join(dir, 'nope.json');
    const err = await expectCode(loadValidatorKey(path), 'KEY_FILE_NOT_FOUND', /key file not found/);
    expect(err.message).toContain(path);
  });

  it('group/other-accessible file → KEY_FILE_MODE telling the operator to chmod 600 (POSIX)', async () => {
    for (const mode of [0o644, 0o640, 0o604, 0o660, 0o602, 0o610]) {
      const path = fresh();
      await saveValidatorKey(path, KEY);
      await chmod(path, mode);
      if (!posix) {
        // Windows has no POSIX modes: the check is not applied there
        expect((await loadValidatorKey(path)).publicKey).toEqual(KEY.publicKey);
        continue;
      }
      const err = await expectCode(loadValidatorKey(path), 'KEY_FILE_MODE', /chmod 600/);
      expect(err.message).toContain(`chmod 600 ${path}`);
      expect(err.message).toContain(mode.toString(8));
    }
  });

  it('owner-only modes stricter than 0600 are accepted', async () => {
    const path = fresh();
    await saveValidatorKey(path, KEY);
    await chmod(path, 0o400);
    expect((await loadValidatorKey(path)).publicKey).toEqual(KEY.publicKey);
  });

  it('a directory → KEY_FILE_INVALID', async () => {
    const path = join(dir, 'a-directory');
    await mkdir(path, { mode: 0o700 });
    await expectCode(loadValidatorKey(path), 'KEY_FILE_INVALID', /not a regular file|cannot/);
  });

  it.runIf(posix)(
    'a FIFO → KEY_FILE_INVALID at once, never a read that blocks for ever (#11.24)',
    async () => {
      const path = join(dir, 'a-fifo');
      execFileSync('mkfifo', ['-m', '600', path]);
      await expectCode(loadValidatorKey(path), 'KEY_FILE_INVALID', /not a regular file/);
      // Behind a symlink too.
      const link = join(dir, 'link-to-fifo');
      await symlink(path, link);
      await expectCode(loadValidatorKey(link), 'KEY_FILE_INVALID', /not a regular file/);
    },
  );

  it('a symlink to a regular key file is followed (e.g. mounted secrets)', async () => {
    const target = fresh();
    await saveValidatorKey(target, KEY);
    const link = join(dir, `link-${n++}.json`);
    await symlink(target, link);
    expect((await loadValidatorKey(link)).publicKey).toEqual(KEY.publicKey);
  });

  it('bad JSON → KEY_FILE_INVALID', async () => {
    for (const text of ['', '{', 'not json', '{"type": "synod/validator-key",}']) {
      await expectCode(loadValidatorKey(await rawFile(text)), 'KEY_FILE_INVALID', /not valid JSON/);
    }
    for (const body of ['[]', 'null', '42', '"key"']) {
      await expectCode(loadValidatorKey(await rawFile(body)), 'KEY_FILE_INVALID', /expected a JSON object/);
    }
  });

  it('wrong, missing or unknown fields → KEY_FILE_INVALID naming the field', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...validBody(), type: 'tendermint/PrivKeyEd25519' }, /"type" must be one of/],
      [{ ...validBody(), type: undefined }, /"type" must be one of/],
      [{ ...validBody(), privateKey: undefined }, /"privateKey" must be 64 hex/],
      [{ ...validBody(), privateKey: 42 }, /"privateKey" must be 64 hex/],
      [{ ...validBody(), publicKey: undefined }, /"publicKey" must be 64 hex/],
      [{ ...validBody(), address: undefined }, /"address" must be 40 hex/],
      [{ ...validBody(), extra: 1 }, /unknown field\(s\) "extra"/],
      [{ ...validBody(), priv_key: 'x' }, /unknown field/],
    ];
    for (const [body, re] of cases)
      await expectCode(loadValidatorKey(await rawFile(body)), 'KEY_FILE_INVALID', re);
  });

  it('wrong key lengths or bad hex → KEY_FILE_INVALID, without echoing the private key', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...validBody(), privateKey: SEED_HEX.slice(2) }, /"privateKey" must be 64 hex.*got 31 bytes/],
      [{ ...validBody(), privateKey: `${SEED_HEX}00` }, /"privateKey" must be 64 hex.*got 33 bytes/],
      [{ ...validBody(), privateKey: `${SEED_HEX.slice(1)}z` }, /"privateKey" must be 64 hex/],
      [{ ...validBody(), privateKey: `${SEED_HEX}${SEED_HEX}` }, /got 64 bytes/],
      [
        { ...validBody(), publicKey: toHex(KEY.publicKey).slice(2) },
        /"publicKey" must be 64 hex.*got 31 bytes/,
      ],
      [{ ...validBody(), publicKey: 'zz'.repeat(32) }, /"publicKey" must be 64 hex/],
      [{ ...validBody(), address: '00'.repeat(32) }, /"address" must be 40 hex.*got 32 bytes/],
    ];
    for (const [body, re] of cases) {
      const err = await expectCode(loadValidatorKey(await rawFile(body)), 'KEY_FILE_INVALID', re);
      expect(err.message).not.toContain(SEED_HEX.slice(2));
    }
  });

  it('a public key or address that does not match the seed → KEY_FILE_INVALID', async () => {
    await expectCode(
      loadValidatorKey(await rawFile({ ...validBody(), publicKey: toHex(OTHER.publicKey) })),
      'KEY_FILE_INVALID',
      /"publicKey" does not match/,
    );
    await expectCode(
      loadValidatorKey(
        await rawFile({ ...validBody(), address: toHex(addressFromPublicKey(OTHER.publicKey)) }),
      ),
      'KEY_FILE_INVALID',
      /"address" does not match/,
    );
  });

  it('a node key where a validator key is expected (and vice versa) → KEY_FILE_INVALID', async () => {
    const nodeKey = fresh();
    await saveNodeKey(nodeKey, KEY);
    await expectCode(loadValidatorKey(nodeKey), 'KEY_FILE_INVALID', /"type" is "synod\/node-key", expected/);
    const validatorKey = fresh();
    await saveValidatorKey(validatorKey, KEY);
    await expectCode(loadNodeKey(validatorKey), 'KEY_FILE_INVALID', /expected "synod\/node-key"/);
  });

  it('an oversized file → KEY_FILE_INVALID', async () => {
    const path = await rawFile(' '.repeat(70_000));
    await expectCode(loadValidatorKey(path), 'KEY_FILE_INVALID', /too large/);
  });

  it('accepts uppercase hex when reading', async () => {
    const body = validBody();
    const upper = Object.fromEntries(
      Object.entries(body).map(([k, v]) => [k, k === 'type' ? v : String(v).toUpperCase()]),
    );
    expect((await loadValidatorKey(await rawFile(upper))).publicKey).toEqual(KEY.publicKey);
  });
});

describe('encodeKeyFile / decodeKeyFile', () => {
  it('round-trip in memory', () => {
    const text = encodeKeyFile('synod/node-key', KEY);
    expect(text.endsWith('\n')).toBe(true);
    const file = decodeKeyFile(text, 'synod/node-key');
    expect(file.keyPair.publicKey).toEqual(KEY.publicKey);
    expect(() => decodeKeyFile(text, 'synod/validator-key')).toThrow(CryptoError);
  });
});
