/**
 * Method parameters as CometBFT converts them (rpc/jsonrpc/server):
 *
 * - JSON-RPC `params` by name (an object) or by position (an array, at most
 *   as many as the method has);
 * - integers as a decimal string or a JSON number; `[]byte` parameters
 *   (`tx`, `hash` of `tx` and `block_by_hash`) as base64 strings;
 *   `HexBytes` ones (`data` of `abci_query`, `hash` of `header_by_hash`) as
 *   hex strings;
 * - in the URI form (`GET /block?height=5`), an integer as digits, bytes as
 *   `0x…` hex or a `"quoted string"` (its UTF-8 bytes), anything else as JSON
 *   (`query="tm.event='Tx'"`); an unquoted string is taken as it is.
 *
 * A value of the wrong type is an `Invalid params` error (-32602) naming the
 * parameter.
 */
import { paramsError } from './errors.js';

export type ParamType = 'int' | 'bool' | 'string' | 'strings' | 'bytes' | 'hexbytes';

export interface ParamSpec {
  readonly name: string;
  readonly type: ParamType;
}

export type ParamValue = number | boolean | string | readonly string[] | Uint8Array | undefined;

const INT_RE = /^-?[0-9]+$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function intOf(name: string, v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && INT_RE.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw paramsError(`${name}: expected an integer (a decimal string or a number), got ${describe(v)}`);
  return n;
}

function bytesOfHex(name: string, s: string): Uint8Array {
  if (!HEX_RE.test(s)) throw paramsError(`${name}: expected hex bytes, got ${describe(s)}`);
  return Uint8Array.from(Buffer.from(s, 'hex'));
}

/** A parameter given in JSON (a JSON-RPC request). */
function fromJson(spec: ParamSpec, v: unknown): ParamValue {
  if (v === undefined || v === null) return undefined;
  const { name } = spec;
  switch (spec.type) {
    case 'int':
      return intOf(name, v);
    case 'bool':
      if (typeof v !== 'boolean') throw paramsError(`${name}: expected true or false, got ${describe(v)}`);
      return v;
    case 'string':
      if (typeof v !== 'string') throw paramsError(`${name}: expected a string, got ${describe(v)}`);
      return v;
    case 'strings':
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
        throw paramsError(`${name}: expected a list of strings, got ${describe(v)}`);
      return v as string[];
    case 'bytes':
      if (typeof v !== 'string' || !BASE64_RE.test(v))
        throw paramsError(`${name}: expected base64 bytes, got ${describe(v)}`);
      return Uint8Array.from(Buffer.from(v, 'base64'));
    case 'hexbytes':
      if (typeof v !== 'string') throw paramsError(`${name}: expected hex bytes, got ${describe(v)}`);
      return bytesOfHex(name, v);
  }
}

/** A parameter given in the URI form (a query-string value). */
function fromUri(spec: ParamSpec, arg: string): ParamValue {
  if (arg === '') return undefined;
  const { name, type } = spec;
  if (type === 'int' && INT_RE.test(arg)) return intOf(name, arg);
  if (arg.toLowerCase().startsWith('0x')) {
    if (type !== 'string' && type !== 'bytes' && type !== 'hexbytes')
      throw paramsError(`${name}: got a hex string arg, but expected '${type}'`);
    const bytes = bytesOfHex(name, arg.slice(2));
    return type === 'string' ? Buffer.from(bytes).toString('utf8') : bytes;
  }
  const quoted = arg.length >= 2 && arg.startsWith('"') && arg.endsWith('"');
  let json: unknown;
  try {
    json = JSON.parse(arg);
  } catch {
    if (type === 'string') return arg;
    if (type === 'hexbytes') return bytesOfHex(name, arg);
    throw paramsError(`${name}: ${describe(arg)} is not valid here (expected ${type})`);
  }
  if (quoted && type === 'bytes' && typeof json === 'string') return new TextEncoder().encode(json);
  return fromJson(spec, json);
}

/** The arguments of a JSON-RPC request's `params` (object, array or absent), in `specs` order. */
export function paramsFromJson(specs: readonly ParamSpec[], params: unknown): ParamValue[] {
  if (params === undefined || params === null) return specs.map(() => undefined);
  if (Array.isArray(params)) {
    if (params.length > specs.length)
      throw paramsError(
        `expected at most ${specs.length} parameters (${specs.map((s) => s.name).join(',')}), got ${params.length}`,
      );
    return specs.map((s, i) => fromJson(s, params[i]));
  }
  if (typeof params !== 'object')
    throw paramsError(
      `unknown type for JSON params: expected an object or an array, got ${describe(params)}`,
    );
  const byName = params as Record<string, unknown>;
  return specs.map((s) => fromJson(s, Object.hasOwn(byName, s.name) ? byName[s.name] : undefined));
}

/** The arguments of a URI request's query string, in `specs` order. */
export function paramsFromUri(specs: readonly ParamSpec[], search: URLSearchParams): ParamValue[] {
  return specs.map((s) => fromUri(s, search.get(s.name) ?? ''));
}
