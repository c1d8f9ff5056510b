import { keyPairFromSeed } from '@synod/crypto';
import { isSynodError } from '@synod/types';
import { describe, expect, it } from 'vitest';
import { buildGenesis } from '../../src/commands/init.js';
import { checkGenesisApp, docToGenesis, type GenesisDoc } from '../../src/genesis.js';

const keys = [1, 2, 3].map((i) => keyPairFromSeed(new Uint8Array(32).fill(i)));

async function sample(): Promise<GenesisDoc> {
  const { doc } = await buildGenesis({
    chainId: 'gen-test',
    genesisTimeMs: Date.parse('2026-01-02T03:04:05.678Z'),
    validators: keys.map((k, i) => ({ name: `v${i}`, pubKey: k.publicKey, power: 10 })),
    accounts: [{ address: new Uint8Array(20).fill(9), balance: 1000n }],
  });
  return doc;
}

function problem(doc: unknown): string {
  try {
    docToGenesis(doc, 'genesis.json');
  } catch (err) {
    if (!isSynodError(err, 'GENESIS_INVALID')) throw err;
    expect(err.message).not.toContain('\n');
    return err.message;
  }
  throw new Error('accepted');
}

// biome-ignore lint/suspicious/noExplicitAny: the tests edit arbitrary JSON paths
type Json = Record<string, any>;
const edit = (doc: GenesisDoc, f: (d: Json) => void): unknown => {
  const copy = structuredClone(doc) as Json;
  f(copy);
  return copy;
};

describe('genesis.json', () => {
  it('is CometBFT-shaped and reads back to the same genesis and app hash', async () => {
    const doc = await sample();
    expect(doc.initial_height).toBe('1');
    expect(doc.consensus_params.block?.max_bytes).toBe('4194304');
    expect(doc.consensus_params.evidence?.max_age_duration).toBe('172800000000000');
    expect(doc.validators[0]?.pub_key.type).toBe('tendermint/PubKeyEd25519');
    expect(doc.validators[0]?.address).toMatch(/^[0-9A-F]{40}$/);
    const { genesis, appHash } = docToGenesis(JSON.parse(JSON.stringify(doc)));
    expect(genesis.chainId).toBe('gen-test');
    expect(genesis.genesisTimeMs).toBe(Date.parse('2026-01-02T03:04:05.678Z'));
    expect(genesis.consensusParams.timeouts.commitMs).toBe(100);
    expect(genesis.validators.map((v) => v.power)).toEqual([10, 10, 10]);
    expect(appHash).toBe(doc.app_hash.toLowerCase());
    expect((await checkGenesisApp(genesis, appHash)).length).toBe(32);
  });

  it('accepts plain integers and leaves out optional sections (defaults)', async () => {
    const doc = edit(await sample(), (d) => {
      d.validators[0].power = 10;
      d.consensus_params = { block: { max_bytes: 2_000_000 } };
      delete d.initial_height;
    });
    const { genesis } = docToGenesis(doc);
    expect(genesis.consensusParams.block.maxBytes).toBe(2_000_000);
    expect(genesis.consensusParams.timeouts.proposeMs).toBe(1000);
  });

  it('names the field and the rule that a bad genesis breaks', async () => {
    const doc = await sample();
    expect(problem(edit(doc, (d) => delete d.chain_id))).toBe(
      'genesis.json: chain_id: missing; expected a string',
    );
    expect(problem(edit(doc, (d) => (d.chain_id = 'bad id')))).toMatch(
      /^genesis\.json: genesis is invalid: chain_id must be/,
    );
    expect(problem(edit(doc, (d) => (d.genesis_time = 'yesterday')))).toMatch(
      /^genesis\.json: genesis_time: expected an RFC 3339 time/,
    );
    expect(problem(edit(doc, (d) => (d.initial_height = '2')))).toMatch(
      /initial_height: this version starts every chain at height 1/,
    );
    expect(problem(edit(doc, (d) => (d.validators = [])))).toBe(
      'genesis.json: validators: expected at least one validator',
    );
    expect(problem(edit(doc, (d) => (d.validators[1].power = '-3')))).toMatch(
      /^genesis\.json: validators\[1\]\.power: expected a non-negative integer/,
    );
    expect(problem(edit(doc, (d) => (d.validators[1].power = '0')))).toMatch(
      /validators\[1\]\.power must be a positive integer/,
    );
    expect(problem(edit(doc, (d) => (d.validators[2].pub_key.type = 'tendermint/PubKeySecp256k1')))).toMatch(
      /validators\[2\]\.pub_key\.type: expected "tendermint\/PubKeyEd25519"$/,
    );
    expect(problem(edit(doc, (d) => (d.validators[0].address = d.validators[1].address)))).toMatch(
      /validators\[0\]\.address: [0-9A-F]{40} is not the address of its pub_key/,
    );
    expect(problem(edit(doc, (d) => (d.validators[1] = { ...d.validators[0], name: 'again' })))).toMatch(
      /duplicate/,
    );
    expect(problem(edit(doc, (d) => (d.consensus_params.timeout.commit = '1')))).toMatch(
      /consensus_params\.timeout\.commit: expected whole milliseconds/,
    );
    expect(
      problem(edit(doc, (d) => (d.consensus_params.evidence.max_bytes = d.consensus_params.block.max_bytes))),
    ).toMatch(
      /consensus_params\.evidence\.max_bytes must be below block\.maxBytes|evidence\.max_bytes must be below/,
    );
    expect(problem(edit(doc, (d) => (d.consensus_params.block.max_size = '1')))).toBe(
      'genesis.json: consensus_params.block: unknown key "max_size"',
    );
    expect(problem(edit(doc, (d) => (d.consensus_params.validator.pub_key_types = ['secp256k1'])))).toMatch(
      /pub_key_types\[0\]: expected "ed25519"/,
    );
  });

  it('the application check: app_state valid, powers as listed, app_hash as computed', async () => {
    const doc = await sample();
    const { genesis, appHash } = docToGenesis(doc);
    await expect(checkGenesisApp(genesis, 'ab'.repeat(32))).rejects.toThrow(
      /app_hash: (AB)+ is not the app hash of app_state/,
    );
    const { genesis: g2 } = docToGenesis(edit(doc, (d) => (d.app_state.validators[0].stake = '20000000')));
    await expect(checkGenesisApp(g2, '')).rejects.toThrow(
      /validators\[\d\]\.power: 10, but app_state gives this validator power 20/,
    );
    const { genesis: g3 } = docToGenesis(edit(doc, (d) => (d.app_state.accounts[0].balance = 'lots')));
    await expect(checkGenesisApp(g3, '')).rejects.toThrow(
      /^genesis\.json: ledger app_state is invalid: app_state\.accounts\[0\]\.balance/,
    );
    expect(appHash).toMatch(/^[0-9a-f]{64}$/);
  });
});
