/**
 * genesis.json, shaped like CometBFT's: `genesis_time`, `chain_id`,
 * `initial_height`, `consensus_params`, `validators` (address, pub_key
 * `{ type: "tendermint/PubKeyEd25519", value: base64 }`, power, name),
 * `app_hash` and `app_state` (the ledger's accounts and stakes). 64-bit
 * integers are decimal strings and durations are nanoseconds, as CometBFT
 * writes them (plain JSON integers are accepted too).
 *
 * Synod's consensus params have sections CometBFT's do not: `timeout` (the
 * round timeouts, node-local settings in CometBFT 0.38, chain parameters in
 * Synod), `slashing` and `staking`.
 *
 * The file is checked in three layers, each reported on one line:
 * its shape (zod), the chain's rules (@synod/types' `parseGenesis`, one home
 * for them) and the application's (a dry run of @synod/ledger's initChain in
 * memory: app_state must be valid, give the validators their listed power,
 * and give `app_hash` when one is written).
 */
import { readFile } from 'node:fs/promises';
import { addressFromPublicKey, fromHex, toHex } from '@synod/crypto';
import { Ledger } from '@synod/ledger';
import { initChainRequestFromGenesis } from '@synod/node';
import { PUB_KEY_TYPE } from '@synod/rpc';
import { createMemoryKvStore } from '@synod/storage';
import {
  bytesEqual,
  type ConsensusParams,
  type Genesis,
  type GenesisJson,
  parseGenesis,
  SynodError,
} from '@synod/types';
import { z } from 'zod';

/** CometBFT's name of an Ed25519 public key in JSON (the RPC's, one definition). */
export { PUB_KEY_TYPE };

type NumberKind = 'int' | 'ns';

/** genesis.json's consensus_params ↔ Synod's ConsensusParams: [json section, json key, synod section, synod key, kind]. */
const PARAMS: readonly (readonly [string, string, keyof ConsensusParams, string, NumberKind])[] = [
  ['block', 'max_bytes', 'block', 'maxBytes', 'int'],
  ['block', 'max_gas', 'block', 'maxGas', 'int'],
  ['block', 'max_time_drift', 'block', 'maxTimeDriftMs', 'ns'],
  ['evidence', 'max_age_num_blocks', 'evidence', 'maxAgeBlocks', 'int'],
  ['evidence', 'max_age_duration', 'evidence', 'maxAgeDurationMs', 'ns'],
  ['evidence', 'max_bytes', 'evidence', 'maxBytes', 'int'],
  ['timeout', 'propose', 'timeouts', 'proposeMs', 'ns'],
  ['timeout', 'propose_delta', 'timeouts', 'proposeDeltaMs', 'ns'],
  ['timeout', 'prevote', 'timeouts', 'prevoteMs', 'ns'],
  ['timeout', 'prevote_delta', 'timeouts', 'prevoteDeltaMs', 'ns'],
  ['timeout', 'precommit', 'timeouts', 'precommitMs', 'ns'],
  ['timeout', 'precommit_delta', 'timeouts', 'precommitDeltaMs', 'ns'],
  ['timeout', 'cap', 'timeouts', 'capMs', 'ns'],
  ['timeout', 'commit', 'timeouts', 'commitMs', 'ns'],
  ['slashing', 'double_sign_slash_ppm', 'slashing', 'doubleSignSlashPpm', 'int'],
  ['slashing', 'downtime_slash_ppm', 'slashing', 'downtimeSlashPpm', 'int'],
  ['slashing', 'signed_blocks_window', 'slashing', 'signedBlocksWindow', 'int'],
  ['slashing', 'min_signed_per_window_ppm', 'slashing', 'minSignedPerWindowPpm', 'int'],
  ['slashing', 'downtime_jail_duration', 'slashing', 'downtimeJailDurationMs', 'ns'],
  ['staking', 'unbonding_blocks', 'staking', 'unbondingBlocks', 'int'],
  ['staking', 'max_validators', 'staking', 'maxValidators', 'int'],
];

const NS_PER_MS = 1_000_000n;

/** The JSON of genesis.json. */
export interface GenesisDoc {
  genesis_time: string;
  chain_id: string;
  initial_height: string;
  consensus_params: Record<string, Record<string, unknown>>;
  validators: {
    address: string;
    pub_key: { type: string; value: string };
    power: string;
    name: string;
  }[];
  app_hash: string;
  app_state: unknown;
}

// ----------------------------------------------------------------- Genesis → JSON

function paramsToJson(p: ConsensusParams): GenesisDoc['consensus_params'] {
  const out: GenesisDoc['consensus_params'] = {};
  for (const [section, key, synodSection, synodKey, kind] of PARAMS) {
    const v = (p[synodSection] as unknown as Record<string, number>)[synodKey] as number;
    out[section] ??= {};
    (out[section] as Record<string, unknown>)[key] =
      kind === 'ns' ? (BigInt(v) * NS_PER_MS).toString() : v.toString();
  }
  out.validator = { pub_key_types: ['ed25519'] };
  return out;
}

/** genesis.json's document for `genesis` and its app hash (`initChain`'s). */
export function genesisToDoc(genesis: Genesis, appHash: Uint8Array | undefined): GenesisDoc {
  return {
    genesis_time: new Date(genesis.genesisTimeMs).toISOString(),
    chain_id: genesis.chainId,
    initial_height: genesis.initialHeight.toString(),
    consensus_params: paramsToJson(genesis.consensusParams),
    validators: genesis.validators.map((v) => ({
      address: toHex(addressFromPublicKey(v.pubKey)).toUpperCase(),
      pub_key: { type: PUB_KEY_TYPE, value: Buffer.from(v.pubKey).toString('base64') },
      power: v.power.toString(),
      name: v.name,
    })),
    app_hash: appHash === undefined ? '' : toHex(appHash).toUpperCase(),
    app_state: genesis.appState,
  };
}

// ----------------------------------------------------------------- JSON → Genesis

const INT64 = 'expected a non-negative integer as a decimal string (e.g. "10")';
const int64 = z
  .union([z.string(), z.number()], { error: INT64 })
  .refine(
    (v) =>
      typeof v === 'string'
        ? /^(0|[1-9][0-9]{0,15})$/.test(v) && Number.isSafeInteger(Number(v))
        : Number.isSafeInteger(v) && v >= 0,
    { error: INT64 },
  );

const paramSections: Record<string, z.ZodType> = {};
for (const [section] of PARAMS) {
  if (paramSections[section] !== undefined) continue;
  const keys = PARAMS.filter((p) => p[0] === section).map((p) => p[1]);
  paramSections[section] = z
    .strictObject(Object.fromEntries(keys.map((k) => [k, int64.optional()])))
    .optional();
}
paramSections.validator = z
  .strictObject({
    pub_key_types: z
      .array(z.literal('ed25519', { error: 'expected "ed25519" (the only key type Synod supports)' }))
      .min(1, { error: 'expected ["ed25519"]' }),
  })
  .optional();

const docSchema = z.strictObject({
  genesis_time: z.iso.datetime({
    error: 'expected an RFC 3339 time such as "2026-01-01T00:00:00Z"',
    offset: true,
  }),
  chain_id: z.string({ error: 'expected a string' }),
  initial_height: int64.optional(),
  consensus_params: z.strictObject(paramSections).optional(),
  validators: z
    .array(
      z.strictObject({
        address: z
          .string()
          .regex(/^([0-9a-fA-F]{40})?$/, { error: 'expected 20 bytes of hex (or "")' })
          .optional(),
        pub_key: z.strictObject({
          type: z.literal(PUB_KEY_TYPE, { error: `expected "${PUB_KEY_TYPE}"` }),
          value: z.base64({ error: 'expected the 32-byte Ed25519 public key in base64' }),
        }),
        power: int64,
        name: z.string().max(64, { error: 'expected at most 64 characters' }).optional(),
      }),
      { error: 'expected an array of validators' },
    )
    .min(1, { error: 'expected at least one validator' }),
  app_hash: z
    .string()
    .regex(/^([0-9a-fA-F]{64})?$/, { error: 'expected "" or 32 bytes of hex' })
    .optional(),
  app_state: z.unknown().optional(),
});

/** `consensusParams.timeouts.capMs` → `consensus_params.timeout.cap` in rule messages. */
function snakeNames(message: string): string {
  let out = message;
  for (const [section, key, synodSection, synodKey] of PARAMS)
    out = out.replaceAll(`consensusParams.${synodSection}.${synodKey}`, `consensus_params.${section}.${key}`);
  for (const [section, , synodSection] of PARAMS)
    out = out.replaceAll(`consensusParams.${synodSection}`, `consensus_params.${section}`);
  return out
    .replaceAll('consensusParams', 'consensus_params')
    .replaceAll('chainId', 'chain_id')
    .replaceAll('genesisTime', 'genesis_time')
    .replaceAll('initialHeight', 'initial_height')
    .replaceAll('.pubKey', '.pub_key')
    .replaceAll('appState', 'app_state');
}

function invalid(file: string, message: string, cause?: unknown): SynodError {
  const line = message
    .split('\n')
    .map((s) => s.replace(/^- /, '').trim())
    .filter((s) => s.length > 0)
    .join('; ')
    .replace(/:;/g, ':');
  return new SynodError('GENESIS_INVALID', `${file}: ${line}`, cause === undefined ? undefined : { cause });
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const k of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function toNumber(v: string | number): number {
  return typeof v === 'number' ? v : Number(v);
}

/** The checked genesis of genesis.json's parsed JSON (shape and chain rules; see `checkGenesisApp` for the application's). */
export function docToGenesis(json: unknown, file = 'genesis.json'): { genesis: Genesis; appHash: string } {
  const shape = docSchema.safeParse(json);
  if (!shape.success) {
    // An unknown key first: a misspelt key is also a missing one, and the misspelling is the news.
    const issues = shape.error.issues;
    const issue = (issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]) as z.core.$ZodIssue;
    const path = issue.path
      .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
      .join('');
    if (issue.code === 'unrecognized_keys')
      throw invalid(file, `${path === '' ? '' : `${path}: `}unknown key "${issue.keys[0]}"`);
    const missing = issue.code === 'invalid_type' && valueAt(json, issue.path) === undefined;
    throw invalid(
      file,
      `${path === '' ? '(top level)' : path}: ${missing ? 'missing; ' : ''}${issue.message}`,
    );
  }
  const doc = shape.data;
  const consensusParams: Record<string, Record<string, number>> = {};
  for (const [section, key, synodSection, synodKey, kind] of PARAMS) {
    const v = doc.consensus_params?.[section] as Record<string, string | number> | undefined;
    const raw = v?.[key];
    if (raw === undefined) continue;
    let value: number;
    if (kind === 'ns') {
      const ns = BigInt(raw);
      if (ns % NS_PER_MS !== 0n)
        throw invalid(
          file,
          `consensus_params.${section}.${key}: expected whole milliseconds (nanoseconds, a multiple of 1000000)`,
        );
      value = Number(ns / NS_PER_MS);
    } else value = toNumber(raw);
    consensusParams[synodSection] ??= {};
    (consensusParams[synodSection] as Record<string, number>)[synodKey] = value;
  }
  const validators = doc.validators.map((v, i) => {
    const pubKey = Buffer.from(v.pub_key.value, 'base64');
    if (pubKey.length !== 32)
      throw invalid(
        file,
        `validators[${i}].pub_key.value: expected 32 bytes in base64, got ${pubKey.length} bytes`,
      );
    if (v.address !== undefined && v.address !== '') {
      const address = toHex(addressFromPublicKey(new Uint8Array(pubKey)));
      if (address !== v.address.toLowerCase())
        throw invalid(
          file,
          `validators[${i}].address: ${v.address} is not the address of its pub_key (${address.toUpperCase()})`,
        );
    }
    return {
      ...(v.name === undefined || v.name === '' ? {} : { name: v.name }),
      pubKey: toHex(pubKey),
      power: toNumber(v.power),
    };
  });
  const initialHeight = doc.initial_height === undefined ? 1 : toNumber(doc.initial_height);
  const genesisJson: GenesisJson = {
    chainId: doc.chain_id,
    genesisTime: doc.genesis_time,
    initialHeight,
    consensusParams: consensusParams as GenesisJson['consensusParams'],
    validators,
    appState: doc.app_state ?? {},
  };
  let genesis: Genesis;
  try {
    genesis = parseGenesis(genesisJson);
  } catch (err) {
    throw invalid(file, snakeNames((err as Error).message), err);
  }
  if (genesis.initialHeight !== 1)
    throw invalid(
      file,
      `initial_height: this version starts every chain at height 1, got ${genesis.initialHeight}`,
    );
  return { genesis, appHash: (doc.app_hash ?? '').toLowerCase() };
}

/**
 * The application's check of a genesis: @synod/ledger's initChain run in
 * memory. Returns the app hash; throws GENESIS_INVALID (one line) when
 * app_state is invalid, gives a validator another power than listed, or
 * `expectedAppHash` (hex, '' for none) differs.
 */
export async function checkGenesisApp(
  genesis: Genesis,
  expectedAppHash: string,
  file = 'genesis.json',
): Promise<Uint8Array> {
  const kv = await createMemoryKvStore();
  try {
    const ledger = await Ledger.open({ kv });
    let res: Awaited<ReturnType<Ledger['initChain']>>;
    try {
      res = await ledger.initChain(initChainRequestFromGenesis(genesis));
    } catch (err) {
      throw invalid(file, snakeNames((err as Error).message), err);
    }
    if (res.validators !== undefined) {
      const listed = new Map(genesis.validators.map((v) => [toHex(v.pubKey), v.power]));
      const given = new Map(res.validators.filter((v) => v.power > 0).map((v) => [toHex(v.pubKey), v.power]));
      for (const [i, v] of genesis.validators.entries()) {
        const power = given.get(toHex(v.pubKey));
        if (power !== v.power)
          throw invalid(
            file,
            `validators[${i}].power: ${v.power}, but app_state gives this validator ${power === undefined ? 'no stake' : `power ${power}`}`,
          );
      }
      for (const [key] of given)
        if (!listed.has(key))
          throw invalid(file, `app_state.validators: ${key} has stake but is not in validators`);
    }
    if (expectedAppHash !== '' && !bytesEqual(fromHex(expectedAppHash), res.appHash))
      throw invalid(
        file,
        `app_hash: ${expectedAppHash.toUpperCase()} is not the app hash of app_state (${toHex(res.appHash).toUpperCase()})`,
      );
    return res.appHash;
  } finally {
    await kv.close();
  }
}

/** Reads, parses and checks genesis.json (shape, chain rules, application). */
export async function loadGenesis(path: string): Promise<Genesis> {
  return (await loadGenesisDocument(path)).genesis;
}

/** The checked genesis and the genesis.json document as it is in the file (what the RPC's `genesis` serves). */
export async function loadGenesisDocument(path: string): Promise<{ genesis: Genesis; document: unknown }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SynodError(
      'GENESIS_INVALID',
      `${path}: cannot read the genesis file (${code ?? String(err)})${code === 'ENOENT' ? '; run `synodd init` first, or set genesis_file' : ''}`,
      { cause: err },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalid(path, `not valid JSON: ${(err as Error).message}`, err);
  }
  const { genesis, appHash } = docToGenesis(json, path);
  await checkGenesisApp(genesis, appHash, path);
  return { genesis, document: json };
}
