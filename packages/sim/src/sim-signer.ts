import { addressFromPublicKey } from '@synod/crypto';
import {
  checkSignRequest,
  type LastSignState,
  type Signer,
  type SignerStateStore,
  type SignRequest,
} from '@synod/types';
import type { SignatureOracle } from './signatures.js';

/**
 * The guarded signer for the fast signature scheme: the production signer's
 * rules (@synod/storage's ValidatorSigner) — `checkSignRequest` against the
 * last-sign state, the state persisted before the signature is released,
 * requests one at a time — over the simulator's keyed-hash signatures.
 */
export async function createSimSigner(
  seed: Uint8Array,
  publicKey: Uint8Array,
  store: SignerStateStore,
  oracle: SignatureOracle,
): Promise<Signer> {
  let last: LastSignState | undefined = await store.load();
  let queue: Promise<unknown> = Promise.resolve();
  const signNow = async (request: SignRequest): Promise<Uint8Array> => {
    const decision = checkSignRequest(last, request);
    if (decision.action === 'reuse') return new Uint8Array(decision.signature);
    const signBytes = new Uint8Array(request.signBytes);
    const signature = oracle.sign(seed, publicKey, signBytes);
    const state: LastSignState = {
      height: request.height,
      round: request.round,
      step: request.step,
      signBytes,
      signature,
    };
    await store.save(state);
    last = state;
    return new Uint8Array(signature);
  };
  return {
    publicKey,
    address: addressFromPublicKey(publicKey),
    sign(request) {
      const run = queue.then(() => signNow(request));
      queue = run.catch(() => undefined);
      return run;
    },
  };
}
