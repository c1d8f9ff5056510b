/**
 * Keys from a BIP-39 mnemonic: the mnemonic's seed (BIP-39, PBKDF2 with an
 * optional BIP-39 passphrase) and SLIP-0010 Ed25519 derivation along a
 * hardened path (Ed25519 has no public derivation, so every level is
 * hardened). @scure/bip39 for the words, micro-key-producer's slip10 for
 * the derivation (both audited, maintained, built on @noble/hashes).
 */

import { entropyToMnemonic, generateMnemonic, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { type KeyPair, keyPairFromSeed } from '@synod/crypto';
import { HDKey } from 'micro-key-producer/slip10.js';
import { CliError } from '../errors.js';

/**
 * Synod's default derivation path: BIP-44 purpose, the Cosmos coin type (118),
 * account 0, external chain, address index 0, every level hardened (SLIP-0010
 * Ed25519). `--account` and `--index` change the last levels.
 */
export function hdPath(account = 0, index = 0): string {
  return `m/44'/118'/${account}'/0'/${index}'`;
}

export const DEFAULT_HD_PATH = hdPath(0, 0);

const PATH_RE = /^m(\/\d{1,10}')*$/;

/** A fresh 24-word mnemonic (256 bits of entropy from the OS). */
export function newMnemonic(): string {
  return generateMnemonic(wordlist, 256);
}

/** The mnemonic of given entropy (16 to 32 bytes, multiple of 4); for tests and vectors. */
export function mnemonicFromEntropy(entropy: Uint8Array): string {
  return entropyToMnemonic(entropy, wordlist);
}

/** Lower-case, single-spaced words. */
export function normalizeMnemonic(text: string): string {
  return text.trim().toLowerCase().split(/\s+/).join(' ');
}

/** Throws BAD_MNEMONIC unless `mnemonic` is a valid English BIP-39 mnemonic (12 to 24 words, checksum). */
export function checkMnemonic(mnemonic: string): string {
  const m = normalizeMnemonic(mnemonic);
  const words = m.split(' ');
  if (![12, 15, 18, 21, 24].includes(words.length))
    throw new CliError('BAD_MNEMONIC', `a mnemonic has 12, 15, 18, 21 or 24 words, got ${words.length}`);
  const unknown = words.filter((w) => !wordlist.includes(w));
  if (unknown.length > 0)
    throw new CliError(
      'BAD_MNEMONIC',
      `${unknown.length} word(s) are not in the BIP-39 English list (word ${words.indexOf(unknown[0] as string) + 1})`,
    );
  if (!validateMnemonic(m, wordlist))
    throw new CliError(
      'BAD_MNEMONIC',
      'the mnemonic checksum does not match (a word is wrong or out of order)',
    );
  return m;
}

/** Checks a derivation path: `m` then hardened levels only (`m/44'/118'/0'/0'/0'`). */
export function checkHdPath(path: string): string {
  if (!PATH_RE.test(path))
    throw new CliError(
      'USAGE',
      `--hd-path ${JSON.stringify(path)}: expected m/a'/b'/… with every level hardened (SLIP-0010 Ed25519)`,
    );
  for (const level of path.split('/').slice(1))
    if (Number(level.slice(0, -1)) >= 2 ** 31)
      throw new CliError('USAGE', `--hd-path ${path}: a level must be below 2^31`);
  return path;
}

/** The 32-byte Ed25519 seed at `path` of the mnemonic (with an optional BIP-39 passphrase). */
export function deriveSeed(
  mnemonic: string,
  path: string = DEFAULT_HD_PATH,
  bip39Passphrase = '',
): Uint8Array {
  const m = checkMnemonic(mnemonic);
  checkHdPath(path);
  const seed = mnemonicToSeedSync(m, bip39Passphrase);
  try {
    const key = HDKey.fromMasterSeed(seed).derive(path);
    return new Uint8Array(key.privateKey);
  } finally {
    seed.fill(0);
  }
}

/** The key pair at `path` of the mnemonic. */
export function deriveKeyPair(
  mnemonic: string,
  path: string = DEFAULT_HD_PATH,
  bip39Passphrase = '',
): KeyPair {
  const seed = deriveSeed(mnemonic, path, bip39Passphrase);
  try {
    return keyPairFromSeed(seed);
  } finally {
    seed.fill(0);
  }
}

/** SLIP-0010 Ed25519 master key and hardened derivation from a raw BIP-32 seed (exported for the spec's test vectors). */
export function slip10(seed: Uint8Array, path: string): { privateKey: Uint8Array; chainCode: Uint8Array } {
  checkHdPath(path);
  const key = HDKey.fromMasterSeed(seed).derive(path);
  return { privateKey: new Uint8Array(key.privateKey), chainCode: new Uint8Array(key.chainCode) };
}
