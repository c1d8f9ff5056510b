import { SynodError } from './errors.js';
import { type LastSignState, SIGN_STEP_ORDER, type SignRequest } from './ports.js';

/** What a signer must do with a request, given its last-sign state. */
export type SignDecision =
  | { readonly action: 'sign' }
  /** Same (height, round, step) and identical bytes: return the stored signature. */
  | { readonly action: 'reuse'; readonly signature: Uint8Array };

function compareHrs(a: { height: number; round: number; step: LastSignState['step'] }, b: typeof a): number {
  if (a.height !== b.height) return a.height < b.height ? -1 : 1;
  if (a.round !== b.round) return a.round < b.round ? -1 : 1;
  const sa = SIGN_STEP_ORDER[a.step];
  const sb = SIGN_STEP_ORDER[b.step];
  return sa === sb ? 0 : sa < sb ? -1 : 1;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The double-sign guard, pure. Throws `SIGNER_REGRESSION` when the request is
 * below the last signed (height, round, step), `SIGNER_DOUBLE_SIGN` when it is at
 * the same (height, round, step) with different bytes.
 */
export function checkSignRequest(last: LastSignState | undefined, request: SignRequest): SignDecision {
  if (last === undefined) return { action: 'sign' };
  const cmp = compareHrs(request, last);
  if (cmp > 0) return { action: 'sign' };
  const where = { height: request.height, round: request.round, step: request.step };
  if (cmp < 0) {
    throw new SynodError(
      'SIGNER_REGRESSION',
      `refusing to sign h=${request.height} r=${request.round} ${request.step}: ` +
        `already signed h=${last.height} r=${last.round} ${last.step}`,
      { details: { ...where, lastHeight: last.height, lastRound: last.round, lastStep: last.step } },
    );
  }
  if (bytesEqual(request.signBytes, last.signBytes)) return { action: 'reuse', signature: last.signature };
  throw new SynodError(
    'SIGNER_DOUBLE_SIGN',
    `refusing to sign different bytes at h=${request.height} r=${request.round} ${request.step}`,
    { details: where },
  );
}
