import { createHmac, pbkdf2Sync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressFromPublicKey, fromHex, keyPairFromSeed, toHex } from '@synod/crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from '../../src/errors.js';
import {
  checkHdPath,
  checkMnemonic,
  DEFAULT_HD_PATH,
  deriveKeyPair,
  deriveSeed,
  mnemonicFromEntropy,
  newMnemonic,
  slip10,
} from '../../src/keys/hd.js';
import { exportKey, importExported, Keyring, seal, unseal } from '../../src/keys/keyring.js';

const LOW_COST = { n: 2 ** 10, r: 8, p: 1 };

/** SLIP-0010 Ed25519 (hardened only), written from the specification with node:crypto's HMAC. */
function slip10Reference(seed: Uint8Array, path: number[]): { key: string; chain: string } {
  let I = createHmac('sha512', 'ed25519 seed').update(seed).digest();
  for (const index of path) {
    const data = Buffer.alloc(37);
    I.copy(data, 1, 0, 32);
    data.writeUInt32BE((index + 2 ** 31) >>> 0, 33);
    I = createHmac('sha512', I.subarray(32)).update(data).digest();
  }
  return { key: I.subarray(0, 32).toString('hex'), chain: I.subarray(32).toString('hex') };
}

describe('SLIP-0010 Ed25519 derivation', () => {
  // SLIP-0010, "Test vector 1 for ed25519".
  const seed = fromHex('000102030405060708090a0b0c0d0e0f');
  it.each([
    ['m', '2b4be7f19ee27bbf30c667b642d5f4aa69fd169872f8fc3059c08ebae2eb19e7'],
    ["m/0'", '68e0fe46dfb67e368c75379acec591dad19df3cde26e63b93a8e704f1dade7a3'],
    ["m/0'/1'", 'b1d0bad404bf35da785a64ca1ac54b2617211d2777696fbffaf208f746ae84f2'],
    ["m/0'/1'/2'", '92a5b23c0b8a99e37d07df3fb9966917f5d06e02ddbd909c7e184371463e9fc9'],
    ["m/0'/1'/2'/2'", '30d1dc7e5fc04c31219ab25a27ae00b50f6fd66622f6e9c913253d6511d1e662'],
    ["m/0'/1'/2'/2'/1000000000'", '8f94d394a8e8fd6b1bc2f3f49f5c47e385281d5c17e65324b0f62483e37e8793'],
  ])('%s gives the specification private key', (path, key) => {
    expect(toHex(slip10(seed, path).privateKey)).toBe(key);
  });

  it('agrees with an HMAC-SHA512 implementation of the specification along the default path', () => {
    const mnemonic = mnemonicFromEntropy(new Uint8Array(32).fill(7));
    // BIP-39's seed (PBKDF2-HMAC-SHA512, 2048 rounds, salt "mnemonic"), by node:crypto, not the library.
    const s = pbkdf2Sync(mnemonic.normalize('NFKD'), 'mnemonic', 2048, 64, 'sha512');
    const ref = slip10Reference(s, [44, 118, 0, 0, 0]);
    expect(toHex(deriveSeed(mnemonic, DEFAULT_HD_PATH))).toBe(ref.key);
    const other = slip10Reference(s, [44, 118, 0, 0, 1]);
    expect(toHex(deriveSeed(mnemonic, "m/44'/118'/0'/0'/1'"))).toBe(other.key);
  });

  it('refuses paths with a non-hardened level and mnemonics with a bad word or checksum', () => {
    expect(() => checkHdPath("m/44'/118'/0'/0/0")).toThrow(/hardened/);
    expect(() => checkHdPath("m/44'/2147483648'")).toThrow(/below 2\^31/);
    const good = mnemonicFromEntropy(new Uint8Array(16));
    expect(checkMnemonic(`  ${good.toUpperCase()} `)).toBe(good);
    const words = good.split(' ');
    expect(() => checkMnemonic([...words.slice(0, 11), 'zzzz'].join(' '))).toThrow(/not in the BIP-39/);
    expect(() => checkMnemonic([...words.slice(0, 11), 'zoo'].join(' '))).toThrow(/checksum/);
    expect(() => checkMnemonic(words.slice(0, 11).join(' '))).toThrow(/12, 15, 18, 21 or 24 words, got 11/);
  });

  it('makes 24-word mnemonics that recover the same key', () => {
    const m = newMnemonic();
    expect(m.split(' ')).toHaveLength(24);
    expect(toHex(deriveKeyPair(m).publicKey)).toBe(toHex(deriveKeyPair(m).publicKey));
    expect(toHex(deriveKeyPair(m).publicKey)).not.toBe(toHex(deriveKeyPair(newMnemonic()).publicKey));
  });
});

describe('keyring', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'synod-keyring-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const kp = keyPairFromSeed(new Uint8Array(32).fill(9));

  it('test backend: folder 0700, file 0600, list/show/keyPair/delete', async () => {
    const ring = new Keyring('test', join(dir, 'ring'));
    const info = await ring.add('alice', kp, { source: 'import' });
    expect(info.address).toBe(toHex(addressFromPublicKey(kp.publicKey)));
    expect((await stat(ring.dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(ring.dir, 'alice.json'))).mode & 0o777).toBe(0o600);
    expect((await ring.list()).map((k) => k.name)).toEqual(['alice']);
    expect(toHex((await ring.keyPair('alice', async () => 'unused')).seed)).toBe(toHex(kp.seed));
    await expect(ring.add('alice', kp, { source: 'import' })).rejects.toMatchObject({ code: 'KEY_EXISTS' });
    await ring.delete('alice');
    await expect(ring.show('alice')).rejects.toMatchObject({ code: 'UNKNOWN_KEY', exitCode: 3 });
  });

  it('file backend: the seed is not in the file; the right passphrase opens it, a wrong one is WRONG_PASSPHRASE', async () => {
    const ring = new Keyring('file', join(dir, 'ring'));
    await ring.add('bob', kp, { source: 'import' }, 'correct horse', { scrypt: LOW_COST });
    const text = await readFile(join(ring.dir, 'bob.json'), 'utf8');
    expect(text).not.toContain(toHex(kp.seed));
    expect(toHex((await ring.keyPair('bob', async () => 'correct horse')).seed)).toBe(toHex(kp.seed));
    await expect(ring.keyPair('bob', async () => 'wrong horse')).rejects.toMatchObject({
      code: 'WRONG_PASSPHRASE',
    });
    await expect(ring.add('carol', kp, { source: 'import' }, '')).rejects.toThrow(/non-empty passphrase/);
  });

  it('file backend: a ciphertext moved to another record does not open (name bound as associated data)', async () => {
    const ring = new Keyring('file', join(dir, 'ring'));
    await ring.add('bob', kp, { source: 'import' }, 'pass-word', { scrypt: LOW_COST });
    const rec = JSON.parse(await readFile(join(ring.dir, 'bob.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(ring.dir, 'eve.json'), JSON.stringify({ ...rec, name: 'eve' }), { mode: 0o600 });
    await expect(ring.keyPair('eve', async () => 'pass-word')).rejects.toMatchObject({
      code: 'WRONG_PASSPHRASE',
    });
  });

  it('refuses a record readable by others, a folder open to others, and hostile scrypt parameters', async () => {
    const ring = new Keyring('test', join(dir, 'ring'));
    await ring.add('alice', kp, { source: 'import' });
    const { chmod } = await import('node:fs/promises');
    await chmod(join(ring.dir, 'alice.json'), 0o644);
    await expect(ring.show('alice')).rejects.toThrow(/mode 0644/);
    await chmod(join(ring.dir, 'alice.json'), 0o600);
    await chmod(ring.dir, 0o755);
    await expect(ring.list()).rejects.toThrow(/mode 0755/);
    const sealed = await seal(kp.seed, 'pw', new Uint8Array(), LOW_COST);
    const hostile = { ...sealed, kdfparams: { ...sealed.kdfparams, n: 2 ** 30 } };
    await expect(unseal(hostile, 'pw', new Uint8Array(), 'x')).rejects.toThrow(/out of bounds/);
  });

  it('export and import round trip with an export passphrase', async () => {
    const doc = await exportKey(kp, 'export-pass');
    expect(JSON.stringify(doc)).not.toContain(toHex(kp.seed));
    expect(toHex((await importExported(doc, 'export-pass', 'f')).seed)).toBe(toHex(kp.seed));
    await expect(importExported(doc, 'nope', 'f')).rejects.toBeInstanceOf(CliError);
  });
});
