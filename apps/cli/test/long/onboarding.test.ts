/**
 * Joining, leaving and coming back as a validator, with real processes and
 * the CLI (`synodd` ×5, `synod tx …`), every step checked through the RPC:
 *
 * 1. a 4-validator network runs; a fifth node (a key outside the set)
 *    starts late and block-syncs to the tip;
 * 2. its operator bonds stake with `synod tx bond`: the validator is in the
 *    set two heights after the bond's block (not one), and its precommits
 *    are in the commits;
 * 3. one of the original four is killed: the chain goes on; it restarts;
 * 4. the new validator stops long enough to be jailed for downtime (a
 *    10-block window in this genesis), leaves the set; it restarts, and
 *    `synod tx unjail` after the 10 s jail brings it back into the set,
 *    signing again;
 * 5. `synod tx unbond` of its whole stake removes it from the set.
 *
 * Long (about two minutes): `pnpm --filter @synod/cli test:long`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freeBasePort,
  heightOf,
  NodeProcess,
  eventually as poll,
  rpc,
  type Status,
  synodd,
  tempDir,
} from '../../../node/test/e2e/harness.js';
import { synod } from '../e2e/harness.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
const running: NodeProcess[] = [];

beforeAll(async () => {
  dir = await tempDir('synod-onboarding-');
});
afterAll(async () => {
  for (const n of running)
    if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
  await dir.remove();
});

/** Polls every 250 ms, failing at once when a node exits unasked. */
const eventually = (test: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> =>
  poll(test, what, { timeoutMs, watch: running });

interface RpcValidator {
  address: string;
  voting_power: string;
}

describe('validator onboarding, downtime jail, unjail and unbond', () => {
  it('a new node syncs, bonds, validates, is jailed, comes back and leaves', async () => {
    const base = await freeBasePort(5);
    const out = join(dir.path, 'net');
    const made = await synodd([
      'testnet',
      '--validators',
      '4',
      '--non-validators',
      '1',
      '--accounts',
      '1',
      '--out',
      out,
      '--chain-id',
      'onboarding',
      '--base-port',
      String(base),
    ]);
    expect(made.code, made.stderr).toBe(0);
    // A short downtime window and jail, a short unbonding period: one genesis for all five.
    for (let i = 0; i < 5; i++) {
      const file = join(out, `node${i}`, 'config', 'genesis.json');
      const g = JSON.parse(await readFile(file, 'utf8')) as {
        app_hash: string;
        consensus_params: {
          slashing: Record<string, string>;
          staking: Record<string, string>;
        };
      };
      g.consensus_params.slashing.signed_blocks_window = '10';
      g.consensus_params.slashing.min_signed_per_window_ppm = '500000';
      g.consensus_params.slashing.downtime_jail_duration = '10000000000';
      g.consensus_params.staking.unbonding_blocks = '5';
      g.app_hash = '';
      await writeFile(file, JSON.stringify(g, null, 2));
    }
    const home = (i: number): string => join(out, `node${i}`);
    const rpcPort = (i: number): number => base + 10 * i + 1;
    const nodeUrl = (i: number): string[] => ['--node', `http://127.0.0.1:${rpcPort(i)}`];
    const start = (i: number): NodeProcess => {
      const n = new NodeProcess(['--home', home(i)]);
      running.push(n);
      return n;
    };
    const status = (i: number): Promise<Status> => rpc<Status>(rpcPort(i), 'status');
    const height = async (i: number): Promise<number> => heightOf(await status(i));
    const validatorsAt = async (h: number): Promise<string[]> =>
      (
        await rpc<{ validators: RpcValidator[] }>(rpcPort(1), 'validators', {
          height: String(h),
          per_page: '100',
        })
      ).validators.map((v) => v.address);
    const signersOf = async (h: number): Promise<string[]> =>
      (
        await rpc<{
          signed_header: { commit: { signatures: { block_id_flag: number; validator_address: string }[] } };
        }>(rpcPort(1), 'commit', { height: String(h) })
      ).signed_header.commit.signatures
        .filter((s) => s.block_id_flag === 2)
        .map((s) => s.validator_address);
    const signingInfo = async (address: string) => {
      const r = await rpc<{ response: { code: number; value: string } }>(rpcPort(1), 'abci_query', {
        path: 'slashing/signing-info',
        data: address,
      });
      expect(r.response.code).toBe(0);
      return JSON.parse(Buffer.from(r.response.value, 'base64').toString('utf8')) as {
        jailed: boolean;
        jailedUntilMs: number;
        missedBlocks: number;
        downtimeJails: number;
      };
    };
    const validatorRecord = async (address: string) => {
      const r = await rpc<{ response: { code: number; value: string } }>(rpcPort(1), 'abci_query', {
        path: 'validator',
        data: address,
      });
      expect(r.response.code).toBe(0);
      return JSON.parse(Buffer.from(r.response.value, 'base64').toString('utf8')) as {
        bondedStake: string;
        jailed: boolean;
      };
    };
    /** Waits for a commit after `from` that holds `address`'s precommit. */
    const signsAfter = (address: string, from: number) =>
      eventually(async () => {
        const top = await height(1);
        for (let h = from; h < top; h++) if ((await signersOf(h)).includes(address)) return true;
        return false;
      }, `a commit after ${from} signed by ${address}`);

    const key = JSON.parse(await readFile(join(home(4), 'config', 'priv_validator_key.json'), 'utf8')) as {
      address: string;
      publicKey: string;
    };
    const address = key.address.toUpperCase();
    const pubKey = key.publicKey;
    // The operator's keyring: the funded testnet account.
    const cliHome = join(dir.path, 'cli');
    const env = { SYNOD_HOME: cliHome };
    const kr = ['--keyring-backend', 'test'];
    const imported = await synod(['keys', 'import', 'operator', join(out, 'keys', 'account0.json'), ...kr], {
      env,
    });
    expect(imported.code, imported.stderr).toBe(0);
    const tx = async (args: string[]): Promise<{ height: number; code: number }> => {
      const r = await synod(
        ['tx', ...args, '--from', 'operator', '--wait', ...kr, ...nodeUrl(1), '-o', 'json'],
        {
          env,
          timeoutMs: 90_000,
        },
      );
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { height: number; code: number };
    };

    // 1. Four validators run; the fifth node syncs from them.
    const originals = [0, 1, 2, 3].map(start);
    await eventually(async () => (await height(1)) >= 5, 'the network at height 5');
    expect(await validatorsAt(await height(1))).not.toContain(address);
    let newcomer = start(4);
    await eventually(async () => {
      const [s, tip] = [await status(4), await height(1)];
      return !s.sync_info.catching_up && heightOf(s) >= tip - 1 && heightOf(s) >= 5;
    }, 'the new node synced to the tip');
    expect((await status(4)).validator_info.voting_power).toBe('0');

    // 2. Bond: in the set two heights after the bond's block, then signing.
    const bond = await tx(['bond', pubKey, '2000000']);
    expect(bond.code).toBe(0);
    await eventually(async () => (await height(1)) >= bond.height + 2, 'two heights after the bond');
    expect(await validatorsAt(bond.height + 1)).not.toContain(address);
    const set = await rpc<{ validators: RpcValidator[] }>(rpcPort(1), 'validators', {
      height: String(bond.height + 2),
    });
    expect(set.validators.find((v) => v.address === address)?.voting_power).toBe('2');
    await signsAfter(address, bond.height + 2);
    await eventually(
      async () => (await status(4)).validator_info.voting_power === '2',
      'status shows the power',
    );

    // 3. Kill one of the original four (power 10 of 42): the chain goes on; restart it.
    await originals[0]?.stop('SIGKILL');
    const atKill = await height(1);
    await eventually(async () => (await height(1)) >= atKill + 3, 'three heights without node0');
    await signsAfter(address, atKill + 1);
    originals[0] = start(0);
    await eventually(async () => (await height(0)) >= (await height(1)) - 1, 'node0 back at the tip');

    // 4. The new validator stops: jailed for downtime, out of the set.
    await eventually(
      async () => (await signingInfo(address)).missedBlocks === 0 && (await height(1)) >= bond.height + 12,
      'a full window signed',
    );
    expect((await newcomer.stop('SIGTERM')).code).toBe(0);
    await eventually(async () => (await signingInfo(address)).jailed, 'the new validator jailed', 120_000);
    const jailed = await signingInfo(address);
    expect(jailed.downtimeJails).toBe(1);
    expect((await validatorRecord(address)).jailed).toBe(true);
    await eventually(async () => !(await validatorsAt(await height(1))).includes(address), 'out of the set');
    // Restarted, it follows the chain; after the jail period its operator unjails it.
    newcomer = start(4);
    await eventually(async () => {
      const [s, tip] = [await status(4), await height(1)];
      return !s.sync_info.catching_up && heightOf(s) >= tip - 1;
    }, 'the restarted validator at the tip');
    // Its own metrics say so (what SynodValidatorJailed reads).
    const metrics = async (): Promise<string> =>
      (await fetch(`http://127.0.0.1:${base + 10 * 4 + 4}/metrics`)).text();
    await eventually(async () => /^synod_node_self_jailed 1$/m.test(await metrics()), 'metrics: jailed');
    expect(await metrics()).toMatch(/^synod_node_self_in_validator_set 0$/m);
    expect(await metrics()).toMatch(/^synod_node_self_window_max_missed_blocks 5$/m);
    await eventually(
      async () => {
        const t = Date.parse((await status(1)).sync_info.latest_block_time);
        return t > jailed.jailedUntilMs;
      },
      'the jail period over',
      60_000,
    );
    const unjail = await tx(['unjail', pubKey]);
    expect(unjail.code).toBe(0);
    expect((await signingInfo(address)).jailed).toBe(false);
    await eventually(async () => (await height(1)) >= unjail.height + 2, 'two heights after the unjail');
    expect(await validatorsAt(unjail.height + 2)).toContain(address);
    await signsAfter(address, unjail.height + 2);
    await eventually(async () => {
      const m = await metrics();
      return /^synod_node_self_jailed 0$/m.test(m) && /^synod_node_self_in_validator_set 1$/m.test(m);
    }, 'metrics: unjailed, in the set');

    // 5. Unbond the whole stake: out of the set two heights later.
    const stake = (await validatorRecord(address)).bondedStake;
    expect(BigInt(stake)).toBeGreaterThan(0n);
    const unbond = await tx(['unbond', pubKey, stake]);
    expect(unbond.code).toBe(0);
    await eventually(async () => (await height(1)) >= unbond.height + 2, 'two heights after the unbond');
    expect(await validatorsAt(unbond.height + 1)).toContain(address);
    expect(await validatorsAt(unbond.height + 2)).not.toContain(address);
    await eventually(
      async () => (await status(4)).validator_info.voting_power === '0',
      'status shows no power',
    );
    const after = await height(1);
    await eventually(async () => (await height(1)) >= after + 2, 'the chain goes on without it');
    expect(await signersOf(after + 1)).not.toContain(address);

    const stops = await Promise.all([...originals, newcomer].map((n) => (n as NodeProcess).stop('SIGTERM')));
    expect(stops.map((s) => s.code)).toEqual([0, 0, 0, 0, 0]);
  }, 420_000);
});
