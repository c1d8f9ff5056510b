/**
 * The chaos network: one network namespace per node, each with one veth
 * (eth0) on a bridge that lives in its own hub namespace, and one veth from
 * the host (the script, the load generator) to the bridge. Addresses are in
 * 198.18.0.0/15 (RFC 2544's benchmark range): SUBNET.1 is the host, node i
 * is SUBNET.(10 + i). Nothing else is touched: every name starts with
 * PREFIX, every rule lives inside a namespace this script created, and
 * `cleanupLeftovers` removes whatever a killed earlier run left.
 *
 * Faults on the wire:
 * - partitions: iptables DROP between node namespaces (chain CHAOS, INPUT
 *   and OUTPUT), never towards the host (the script keeps watching);
 * - loss: DROP with the `statistic` match (random, a probability), in a
 *   chain of its own (CHAOS_LOSS: a phase can heal its partition and keep
 *   its loss);
 * - bandwidth: a `tbf` qdisc on a node's eth0;
 * - latency and jitter: the kernel has no netem, so a node's peer
 *   connections are sent through delaying TCP proxies (delay-proxy.ts):
 *   every namespace redirects its outgoing connections to the slowed node
 *   (and the slowed node all of its outgoing ones) to a proxy of its own,
 *   which forwards them after the delay (iptables nat OUTPUT REDIRECT).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inNs, run } from './sh.js';

export const PREFIX = 'synchaos';
export const SUBNET = '198.18.77';
export const HOST_ADDRESS = `${SUBNET}.1`;
const HOST_LINK = `${PREFIX}-h`;
const HUB = `${PREFIX}-hub`;
const CHAIN = 'CHAOS';
/** The loss rules' own chain: a partition healed in a phase that combines faults leaves the loss in force. */
const LOSS_CHAIN = 'CHAOS_LOSS';
/** The proxy ports in a namespace: PROXY_PORT_BASE + the index of the node it leads to. */
const PROXY_PORT_BASE = 27000;
const DELAY_PROXY = fileURLToPath(new URL('./delay-proxy.js', import.meta.url));

export function nodeNs(i: number): string {
  return `${PREFIX}-n${i}`;
}
export function nodeAddress(i: number): string {
  return `${SUBNET}.${10 + i}`;
}
/** A second address of node i's namespace: the source of its delay proxy's connections (not redirected again). */
export function proxyAddress(i: number): string {
  return `${SUBNET}.${100 + i}`;
}

/** Names of namespaces a (possibly killed) run left. */
function leftoverNamespaces(): string[] {
  return run('ip', ['netns', 'list'], { allowFail: true })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${PREFIX}-`));
}

/** The file that marks a run's folder kept with --keep (cleanupLeftovers leaves it). */
export const KEPT_MARK = 'KEPT';

/** Processes on the host whose command line names a run's folder (the load generator of a killed run). */
function hostProcessesOfRuns(): number[] {
  const marker = `${join(tmpdir(), PREFIX)}-`;
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmd.some((a) => a.startsWith(marker)) && cmd.includes('load')) out.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return out;
}

/** Processes running inside a namespace of ours. */
export function pidsIn(ns: string): number[] {
  return run('ip', ['netns', 'pids', ns], { allowFail: true })
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isSafeInteger(n) && n > 0);
}

/**
 * Removes every namespace, link and process a run of this script left
 * behind (names starting with PREFIX only). Returns what it removed.
 */
export function cleanupLeftovers(): { namespaces: number; processes: number; links: number } {
  let processes = 0;
  const namespaces = leftoverNamespaces();
  for (const ns of namespaces)
    for (const pid of pidsIn(ns)) {
      try {
        process.kill(pid, 'SIGKILL');
        processes++;
      } catch {
        // Gone already.
      }
    }
  for (const ns of namespaces) run('ip', ['netns', 'del', ns], { allowFail: true });
  // The load generator runs on the host side: found by its keys folder, inside a run's folder.
  for (const pid of hostProcessesOfRuns()) {
    try {
      process.kill(pid, 'SIGKILL');
      processes++;
    } catch {
      // Gone already.
    }
  }
  let links = 0;
  if (run('ip', ['link', 'show', HOST_LINK], { allowFail: true }) !== '') {
    run('ip', ['link', 'del', HOST_LINK], { allowFail: true });
    links++;
  }
  // A killed run's folder (testnet homes, logs); a folder kept with --keep is marked and stays.
  for (const name of readdirSync(tmpdir()))
    if (name.startsWith(`${PREFIX}-`) && !existsSync(join(tmpdir(), name, KEPT_MARK)))
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
  return { namespaces: namespaces.length, processes, links };
}

export class ChaosNet {
  readonly #n: number;
  readonly #proxies = new Map<number, ChildProcess>();
  /** Current latency per slowed node. */
  readonly #slow = new Map<number, { delayMs: number; jitterMs: number }>();

  constructor(n: number) {
    this.#n = n;
  }

  get size(): number {
    return this.#n;
  }

  /**
   * Creates the hub, the node namespaces and the host link. `p2pPort`: the
   * nodes' peer port, refused (a TCP reset) on each namespace's second
   * address: a node listens on all of its addresses and its peers learn the
   * second one too (identify), and a connection to it would go around the
   * delay proxies (one did: a node behind 270 ms measured a 1 ms round trip).
   */
  setup(p2pPort: number): void {
    run('ip', ['netns', 'add', HUB]);
    run('ip', ['-n', HUB, 'link', 'add', 'br0', 'type', 'bridge']);
    run('ip', ['-n', HUB, 'link', 'set', 'br0', 'up']);
    for (let i = 0; i < this.#n; i++) {
      const ns = nodeNs(i);
      run('ip', ['netns', 'add', ns]);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      run('ip', ['-n', HUB, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      run('ip', ['-n', HUB, 'link', 'set', `v${i}`, 'master', 'br0', 'up']);
      run('ip', ['-n', ns, 'addr', 'add', `${nodeAddress(i)}/24`, 'dev', 'eth0']);
      run('ip', ['-n', ns, 'addr', 'add', `${proxyAddress(i)}/24`, 'dev', 'eth0']);
      run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      inNs(ns, 'iptables', [
        '-A',
        'INPUT',
        '-p',
        'tcp',
        '-d',
        proxyAddress(i),
        '--dport',
        String(p2pPort),
        '-j',
        'REJECT',
        '--reject-with',
        'tcp-reset',
      ]);
      for (const chain of [CHAIN, LOSS_CHAIN]) {
        inNs(ns, 'iptables', ['-N', chain]);
        inNs(ns, 'iptables', ['-A', 'INPUT', '-j', chain]);
        inNs(ns, 'iptables', ['-A', 'OUTPUT', '-j', chain]);
      }
    }
    run('ip', ['link', 'add', HOST_LINK, 'type', 'veth', 'peer', 'name', 'host', 'netns', HUB]);
    run('ip', ['-n', HUB, 'link', 'set', 'host', 'master', 'br0', 'up']);
    run('ip', ['addr', 'add', `${HOST_ADDRESS}/24`, 'dev', HOST_LINK]);
    run('ip', ['link', 'set', HOST_LINK, 'up']);
  }

  /** Removes everything setup made (and the proxies). Safe to call twice. */
  teardown(): void {
    for (const p of this.#proxies.values()) p.kill('SIGKILL');
    this.#proxies.clear();
    cleanupLeftovers();
  }

  /** Pairs of nodes cut off from each other by the partition in force ("i/j", both orders). */
  readonly #cut = new Set<string>();

  /** Cuts every link between a node of `a` and a node of `b` (both directions). */
  partition(a: readonly number[], b: readonly number[]): void {
    for (const i of a) for (const j of b) this.#drop(i, j);
    for (const j of b) for (const i of a) this.#drop(j, i);
    for (const i of a)
      for (const j of b) {
        this.#cut.add(`${i}/${j}`);
        this.#cut.add(`${j}/${i}`);
      }
  }

  /** Whether the partition in force separates nodes `i` and `j`. */
  cutOff(i: number, j: number): boolean {
    return this.#cut.has(`${i}/${j}`);
  }

  /** Removes the partition only (the other faults of the phase stay). */
  healPartition(): void {
    for (let i = 0; i < this.#n; i++) inNs(nodeNs(i), 'iptables', ['-F', CHAIN]);
    this.#cut.clear();
  }

  #drop(i: number, j: number, probability?: number): void {
    const stat =
      probability === undefined
        ? []
        : ['-m', 'statistic', '--mode', 'random', '--probability', String(probability)];
    const chain = probability === undefined ? CHAIN : LOSS_CHAIN;
    for (const address of [nodeAddress(j), proxyAddress(j)]) {
      inNs(nodeNs(i), 'iptables', ['-A', chain, '-s', address, ...stat, '-j', 'DROP']);
      inNs(nodeNs(i), 'iptables', ['-A', chain, '-d', address, ...stat, '-j', 'DROP']);
    }
  }

  /** Drops `probability` of the packets between node `i` and every other node (both ways, on `i`'s side). */
  loss(i: number, probability: number): void {
    for (let j = 0; j < this.#n; j++) if (j !== i) this.#drop(i, j, probability);
  }

  /** Limits node `i`'s outgoing traffic to `kbit` kbit/s (tbf). */
  bandwidth(i: number, kbit: number): void {
    inNs(nodeNs(i), 'tc', [
      'qdisc',
      'replace',
      'dev',
      'eth0',
      'root',
      'tbf',
      'rate',
      `${kbit}kbit`,
      'burst',
      '32kbit',
      'latency',
      '400ms',
    ]);
  }

  /**
   * Delays every new peer connection to and from node `i` by `delayMs` ±
   * `jitterMs` each way (connections open before stay direct: restart the
   * node to move them all).
   */
  latency(i: number, delayMs: number, jitterMs: number, p2pPort: number): void {
    this.#slow.set(i, { delayMs, jitterMs });
    for (let k = 0; k < this.#n; k++) {
      const targets = k === i ? [...Array(this.#n).keys()].filter((j) => j !== i) : [i];
      this.#startProxy(k, delayMs, jitterMs, p2pPort);
      // Only the node's own address: its second one refuses peer connections (setup).
      for (const j of targets)
        inNs(nodeNs(k), 'iptables', [
          '-t',
          'nat',
          '-A',
          'OUTPUT',
          '-p',
          'tcp',
          '-s',
          nodeAddress(k),
          '-d',
          nodeAddress(j),
          '--dport',
          String(p2pPort),
          '-j',
          'REDIRECT',
          '--to-ports',
          String(PROXY_PORT_BASE + j),
        ]);
    }
  }

  #startProxy(k: number, delayMs: number, jitterMs: number, p2pPort: number): void {
    this.#proxies.get(k)?.kill('SIGKILL');
    const routes = [...Array(this.#n).keys()]
      .filter((j) => j !== k)
      .map((j) => `${PROXY_PORT_BASE + j}=${nodeAddress(j)}:${p2pPort}`);
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        nodeNs(k),
        process.execPath,
        DELAY_PROXY,
        proxyAddress(k),
        String(delayMs),
        String(jitterMs),
        ...routes,
      ],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    this.#proxies.set(k, child);
  }

  /** Removes every fault rule (DROP, nat redirects, qdiscs) and stops the proxies. */
  heal(): void {
    for (let i = 0; i < this.#n; i++) {
      const ns = nodeNs(i);
      inNs(ns, 'iptables', ['-F', CHAIN]);
      inNs(ns, 'iptables', ['-F', LOSS_CHAIN]);
      inNs(ns, 'iptables', ['-t', 'nat', '-F', 'OUTPUT']);
      inNs(ns, 'tc', ['qdisc', 'del', 'dev', 'eth0', 'root'], { allowFail: true });
    }
    for (const p of this.#proxies.values()) p.kill('SIGKILL');
    this.#proxies.clear();
    this.#slow.clear();
    this.#cut.clear();
  }

  /** The rules in force in node `i`'s namespace (for the log). */
  rules(i: number): string {
    return `${inNs(nodeNs(i), 'iptables', ['-S', CHAIN])}${inNs(nodeNs(i), 'iptables', ['-S', LOSS_CHAIN])}`;
  }
}
