/**
 * `synodd testnet --validators N --out DIR [--non-validators M]
 * [--chain-id ID] [--base-port P] [--hosts h1,h2,…] [--accounts K]`:
 * N + M ready homes DIR/node0 … with one shared genesis (the N validators
 * bonded with power 10 each, K funded accounts whose keys are written to
 * DIR/keys/ for the CLI), every node's persistent_peers filled with all the
 * others, and distinct ports: on one host (127.0.0.1) node i listens on
 * P + 10 i (p2p), P + 10 i + 1 (RPC) and P + 10 i + 4 (metrics) — node0
 * gets CometBFT's 26656, 26657 and 26660 by default; with --hosts, node i
 * is on host i with the ports of node 0.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { addressFromPublicKey, generateKeyPair, type KeyPair, writeKeyFile } from '@synod/crypto';
import { peerIdOfNodeKey } from '@synod/p2p';
import { SynodError } from '@synod/types';
import { defaultConfig } from '../config/template.js';
import { parseHostPort } from '../config/values.js';
import { writeHome } from '../home-files.js';
import { buildGenesis, checkChainId, GENESIS_POWER } from './init.js';

export const PORT_STEP = 10;
export const RPC_OFFSET = 1;
export const METRICS_OFFSET = 4;
/** Base units each testnet account holds. */
export const ACCOUNT_BALANCE = 1_000_000_000_000n;

export interface TestnetOptions {
  readonly out: string;
  readonly validators: number;
  readonly nonValidators: number;
  readonly chainId: string;
  readonly basePort: number;
  readonly hosts?: readonly string[];
  readonly accounts: number;
}

export interface TestnetNode {
  readonly name: string;
  readonly home: string;
  readonly validator: boolean;
  readonly peerId: string;
  readonly host: string;
  readonly p2pPort: number;
  readonly rpcPort: number;
  readonly metricsPort: number;
}

function count(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new SynodError('CONFIG_INVALID', `--${name} ${value}: expected an integer in [${min}, ${max}]`);
}

async function assertEmpty(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (entries.length > 0)
    throw new SynodError(
      'CONFIG_INVALID',
      `--out ${dir} is not empty: refusing to overwrite (choose an empty or new folder)`,
    );
}

export async function testnet(o: TestnetOptions): Promise<TestnetNode[]> {
  count('validators', o.validators, 1, 100);
  count('non-validators', o.nonValidators, 0, 100);
  count('accounts', o.accounts, 0, 10_000);
  const total = o.validators + o.nonValidators;
  checkChainId(o.chainId);
  const hosts = o.hosts;
  const lastPort = o.basePort + (hosts === undefined ? PORT_STEP * (total - 1) : 0) + METRICS_OFFSET;
  if (!Number.isSafeInteger(o.basePort) || o.basePort < 1 || lastPort > 65_535)
    throw new SynodError(
      'CONFIG_INVALID',
      `--base-port ${o.basePort}: the ports of ${total} nodes must fit in [1, 65535]`,
    );
  if (hosts !== undefined) {
    if (hosts.length !== total)
      throw new SynodError(
        'CONFIG_INVALID',
        `--hosts: ${hosts.length} hosts given for ${total} nodes (one per node)`,
      );
    for (const h of hosts)
      if (parseHostPort(`${h}:1`, true) === undefined)
        throw new SynodError(
          'CONFIG_INVALID',
          `--hosts: ${JSON.stringify(h)} is not an IP address or a DNS name`,
        );
  }
  await assertEmpty(o.out);

  const nodeKeys: KeyPair[] = Array.from({ length: total }, () => generateKeyPair());
  const validatorKeys: KeyPair[] = Array.from({ length: total }, () => generateKeyPair());
  const accountKeys: KeyPair[] = Array.from({ length: o.accounts }, () => generateKeyPair());
  const nodes: TestnetNode[] = [];
  for (let i = 0; i < total; i++) {
    const oneHost = hosts === undefined;
    const port = o.basePort + (oneHost ? PORT_STEP * i : 0);
    nodes.push({
      name: `node${i}`,
      home: join(o.out, `node${i}`),
      validator: i < o.validators,
      peerId: (await peerIdOfNodeKey(nodeKeys[i] as KeyPair)).toString(),
      host: oneHost ? '127.0.0.1' : (hosts[i] as string),
      p2pPort: port,
      rpcPort: port + RPC_OFFSET,
      metricsPort: port + METRICS_OFFSET,
    });
  }
  const { doc } = await buildGenesis({
    chainId: o.chainId,
    genesisTimeMs: Date.now(),
    validators: nodes
      .filter((n) => n.validator)
      .map((n, i) => ({
        name: n.name,
        pubKey: (validatorKeys[i] as KeyPair).publicKey,
        power: GENESIS_POWER,
      })),
    accounts: accountKeys.map((k) => ({
      address: addressFromPublicKey(k.publicKey),
      balance: ACCOUNT_BALANCE,
    })),
  });
  const peerAddress = (n: TestnetNode): string =>
    `${n.peerId}@${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.p2pPort}`;
  for (const [i, n] of nodes.entries()) {
    const config = defaultConfig(n.name);
    const listenHost = hosts === undefined ? '127.0.0.1' : '0.0.0.0';
    config.p2p.laddr = `tcp://${listenHost}:${n.p2pPort}`;
    config.p2p.persistent_peers = nodes
      .filter((m) => m !== n)
      .map(peerAddress)
      .join(',');
    // A testnet's peers are on one host or a private network.
    config.p2p.addr_book_strict = false;
    config.rpc.laddr = `tcp://127.0.0.1:${n.rpcPort}`;
    config.instrumentation.prometheus_listen_addr = `127.0.0.1:${n.metricsPort}`;
    await writeHome({
      home: n.home,
      config,
      genesis: doc,
      nodeKey: nodeKeys[i] as KeyPair,
      validatorKey: validatorKeys[i] as KeyPair,
    });
  }
  if (accountKeys.length > 0) {
    const keysDir = join(o.out, 'keys');
    await mkdir(keysDir, { recursive: true, mode: 0o700 });
    // The account keys in @synod/crypto's key-file format (mode 0600), for the CLI to sign transactions.
    for (const [i, k] of accountKeys.entries())
      await writeKeyFile(join(keysDir, `account${i}.json`), 'synod/validator-key', k);
  }
  return nodes;
}

/** A short description of the nodes written, for the terminal. */
export function describeTestnet(out: string, nodes: readonly TestnetNode[], accounts: number): string {
  const lines = nodes.map(
    (n) =>
      `  ${n.name}  ${n.validator ? 'validator    ' : 'non-validator'}  p2p ${n.host}:${n.p2pPort}  rpc 127.0.0.1:${n.rpcPort}  metrics 127.0.0.1:${n.metricsPort}  id ${n.peerId}`,
  );
  return [
    `wrote ${nodes.length} node homes in ${out}:`,
    ...lines,
    ...(accounts > 0
      ? [`and ${accounts} funded account keys in ${join(out, 'keys')}/ (account0.json, …)`]
      : []),
    `start each with: synodd start --home ${join(out, 'node0')}   (and node1, node2, …)`,
  ].join('\n');
}
