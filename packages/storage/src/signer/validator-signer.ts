import { addressFromPublicKey, keyPairFromSeed, sign, verify } from '@synod/crypto';
import {
  checkSignRequest,
  isSynodError,
  type LastSignState,
  SIGN_STEP_ORDER,
  type Signer,
  type SignerStateStore,
  type SignRequest,
  SynodError,
} from '@synod/types';

function checkRequest(r: SignRequest): void {
  const ok =
    typeof r === 'object' &&
    r !== null &&
    Number.isSafeInteger(r.height) &&
    r.height >= 0 &&
    Number.isSafeInteger(r.round) &&
    r.round >= 0 &&
    typeof r.step === 'string' &&
    Object.hasOwn(SIGN_STEP_ORDER, r.step) &&
    r.signBytes instanceof Uint8Array;
  if (!ok)
    throw new SynodError('ENCODE_INVALID_VALUE', 'sign request: malformed height, round, step or signBytes');
}

/**
 * How a signer makes and checks signatures. The default is Ed25519
 * (@synod/crypto); the simulator passes its fast keyed-hash stand-in, so it
 * runs this very signer (guard, persistence order, refusal after a failed
 * write) whatever the scheme.
 */
export interface SignerScheme {
  sign(seed: Uint8Array, publicKey: Uint8Array, message: Uint8Array): Uint8Array;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

const ED25519: SignerScheme = {
  sign: (seed, _publicKey, message) => sign(seed, message),
  verify,
};

/**
 * The consensus signer: Ed25519 over the request's bytes, guarded by
 * `checkSignRequest` against the last-sign state, which is persisted (through
 * the `SignerStateStore`) before a signature is returned. Requests are handled
 * one at a time. After a failed state write the signer refuses every request
 * (the state on disk is unknown) until it is recreated.
 */
export class ValidatorSigner implements Signer {
  readonly publicKey: Uint8Array;
  readonly address: Uint8Array;
  private readonly seed: Uint8Array;
  private readonly store: SignerStateStore;
  private readonly scheme: SignerScheme;
  private last: LastSignState | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private broken: SynodError | undefined;

  private constructor(
    seed: Uint8Array,
    publicKey: Uint8Array,
    store: SignerStateStore,
    scheme: SignerScheme,
    last?: LastSignState,
  ) {
    this.seed = seed;
    this.scheme = scheme;
    this.publicKey = publicKey;
    this.address = addressFromPublicKey(publicKey);
    this.store = store;
    this.last = last;
  }

  /** See `createSigner`. */
  static async create(
    keySeed: Uint8Array,
    store: SignerStateStore,
    scheme: SignerScheme = ED25519,
  ): Promise<ValidatorSigner> {
    if (!(keySeed instanceof Uint8Array) || keySeed.length !== 32) {
      throw new SynodError('KEY_FILE_INVALID', 'the validator key seed must be 32 bytes');
    }
    const seed = new Uint8Array(keySeed);
    const { publicKey } = keyPairFromSeed(seed);
    const last = await store.load();
    if (last !== undefined && !scheme.verify(publicKey, last.signBytes, last.signature)) {
      throw new SynodError(
        'SIGNER_KEY_MISMATCH',
        `the signer state (h=${last.height} r=${last.round} ${last.step}) holds a signature that is not this ` +
          "validator key's: the state file belongs to another key. Use the state file of this key.",
        { details: { height: last.height, round: last.round, step: last.step } },
      );
    }
    return new ValidatorSigner(seed, publicKey, store, scheme, last);
  }

  /** The last-sign state as of the last completed request. */
  lastSignState(): LastSignState | undefined {
    return this.last;
  }

  sign(request: SignRequest): Promise<Uint8Array> {
    const run = this.queue.then(() => this.signNow(request));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async signNow(request: SignRequest): Promise<Uint8Array> {
    checkRequest(request);
    if (this.broken !== undefined) throw this.broken;
    const decision = checkSignRequest(this.last, request);
    if (decision.action === 'reuse') return new Uint8Array(decision.signature);
    const signBytes = new Uint8Array(request.signBytes);
    const signature = this.scheme.sign(this.seed, this.publicKey, signBytes);
    const state: LastSignState = {
      height: request.height,
      round: request.round,
      step: request.step,
      signBytes,
      signature,
    };
    try {
      await this.store.save(state);
    } catch (err) {
      this.broken = new SynodError(
        'SIGNER_STATE_WRITE_FAILED',
        'the signer state could not be persisted, so no signature was released; the signer refuses to sign ' +
          'until the node restarts and reloads the state',
        { cause: err, details: isSynodError(err) ? { cause: err.code } : {} },
      );
      throw this.broken;
    }
    this.last = state;
    return new Uint8Array(signature);
  }
}

/**
 * A `Signer` for the validator key `keySeed` (32 bytes) whose last-sign state
 * lives in `stateStore` (a `FileSignerStateStore` on a node,
 * `MemorySignerStateStore` in tests and the simulator). Rejects with
 * `SIGNER_KEY_MISMATCH` when the stored state was signed by another key.
 * `scheme` replaces Ed25519 (the simulator's fast stand-in); a node never
 * passes one.
 */
export function createSigner(
  keySeed: Uint8Array,
  stateStore: SignerStateStore,
  scheme?: SignerScheme,
): Promise<ValidatorSigner> {
  return ValidatorSigner.create(keySeed, stateStore, scheme);
}
