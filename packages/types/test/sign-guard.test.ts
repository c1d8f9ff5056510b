import { describe, expect, it } from 'vitest';
import { checkSignRequest, isSynodError, type LastSignState, type SignRequest } from '../src/index.js';

const bytes = (...b: number[]) => new Uint8Array(b);
const last: LastSignState = {
  height: 10,
  round: 2,
  step: 'prevote',
  signBytes: bytes(1, 2, 3),
  signature: bytes(9, 9),
};
const req = (r: Partial<SignRequest>): SignRequest => ({
  height: 10,
  round: 2,
  step: 'prevote',
  signBytes: bytes(1, 2, 3),
  ...r,
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isSynodError(e) ? e.code : 'OTHER';
  }
  return undefined;
}

describe('checkSignRequest', () => {
  it('signs anything for a fresh validator', () => {
    expect(checkSignRequest(undefined, req({ height: 1, round: 0, step: 'proposal' }))).toEqual({
      action: 'sign',
    });
  });

  it('signs later steps, rounds and heights', () => {
    expect(checkSignRequest(last, req({ step: 'precommit', signBytes: bytes(7) })).action).toBe('sign');
    expect(checkSignRequest(last, req({ round: 3, step: 'proposal', signBytes: bytes(7) })).action).toBe(
      'sign',
    );
    expect(checkSignRequest(last, req({ height: 11, round: 0, step: 'proposal' })).action).toBe('sign');
  });

  it('re-signs identical bytes at the same (h, r, step) idempotently', () => {
    const d = checkSignRequest(last, req({}));
    expect(d).toEqual({ action: 'reuse', signature: last.signature });
  });

  it('refuses different bytes at the same (h, r, step)', () => {
    expect(codeOf(() => checkSignRequest(last, req({ signBytes: bytes(1, 2, 4) })))).toBe(
      'SIGNER_DOUBLE_SIGN',
    );
  });

  it('refuses any regression', () => {
    expect(codeOf(() => checkSignRequest(last, req({ step: 'proposal' })))).toBe('SIGNER_REGRESSION');
    expect(codeOf(() => checkSignRequest(last, req({ round: 1, step: 'precommit' })))).toBe(
      'SIGNER_REGRESSION',
    );
    expect(codeOf(() => checkSignRequest(last, req({ height: 9, round: 5 })))).toBe('SIGNER_REGRESSION');
  });
});
