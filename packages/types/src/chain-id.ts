import { SynodError } from './errors.js';
import { LIMITS } from './limits.js';

const CHAIN_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/;

/** True for a valid chain id: 1..50 ASCII letters, digits, '.', '_' or '-', starting alphanumeric. */
export function isValidChainId(chainId: string): boolean {
  return (
    typeof chainId === 'string' &&
    chainId.length > 0 &&
    chainId.length <= LIMITS.chainIdBytesMax &&
    CHAIN_ID_RE.test(chainId)
  );
}

export function assertChainId(chainId: string): void {
  if (!isValidChainId(chainId)) {
    throw new SynodError('ENCODE_INVALID_VALUE', `invalid chain id ${JSON.stringify(chainId)}`);
  }
}
