/**
 * @synod/crypto: Ed25519 under one verification rule (ZIP-215), SHA-256,
 * RFC 6962 Merkle trees, addresses, hex helpers and key files.
 * This module is the package's only public surface.
 */

export { ADDRESS_LENGTH, addressFromPublicKey } from './address.js';
export { bytesEqual, compareBytes, concatBytes, fromHex, isBytes, toHex } from './bytes.js';
export {
  clearKeyObjectCache,
  generateKeyPair,
  KEY_OBJECT_CACHE_CAPACITY,
  type KeyPair,
  keyPairFromSeed,
  PUBLIC_KEY_LENGTH,
  publicKeyFromSeed,
  resetVerifyStats,
  SEED_LENGTH,
  SIGNATURE_LENGTH,
  sign,
  type VerifyStats,
  verify,
  verifyStats,
  verifyZip215,
} from './ed25519.js';
export { CRYPTO_ERROR_CODES, CryptoError, type CryptoErrorCode, isCryptoError } from './errors.js';
export { SHA256_LENGTH, sha256, sha256Concat } from './hash.js';

export {
  decodeKeyFile,
  encodeKeyFile,
  KEY_FILE_TYPES,
  type KeyFile,
  type KeyFileType,
  loadNodeKey,
  loadValidatorKey,
  readKeyFile,
  saveNodeKey,
  saveValidatorKey,
  writeKeyFile,
} from './key-file.js';
export { merkleLeafHash, merkleNodeHash, merkleProof, merkleRoot, verifyMerkleProof } from './merkle.js';
export { isCanonicalTorsionFreePublicKey, publicKeyProblem } from './public-key-check.js';
export { createVerifyCache, VERIFY_CACHE_CAPACITY, type VerifyCache, type VerifyFn } from './verify-cache.js';
export {
  createVerifyPool,
  VERIFY_POOL_DEFAULTS,
  type VerifyItem,
  type VerifyManyOptions,
  type VerifyPool,
  type VerifyPoolOptions,
  type VerifyPoolStats,
} from './verify-pool.js';
