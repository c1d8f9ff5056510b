/**
 * One chaos run: the network, the testnet, the nodes, the load, the phases
 * of the schedule with their checks, the final checks, and the cleanup.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, readKeyFile, toHex } from '@synod/crypto';
import { equivocationPunishment } from '@synod/fault-detector';
import { REQRESP_PROTOCOLS } from '@synod/p2p';
import { type ConsensusParams, txHash } from '@synod/types';
import { Checks } from './checks.js';
import { ChaosNode, heightOf, metricSum, metricsOf, P2P_PORT, rpc, SYNOD, SYNODD } from './cluster.js';
import { ChaosNet, cleanupLeftovers, KEPT_MARK, nodeAddress } from './netns.js';
import { describePhase, type Fault, faultsOf, type Phase, type Schedule } from './schedule.js';
import { run } from './sh.js';
import { auditSigner } from './signer-audit.js';

export interface RunOptions {
  readonly schedule: Schedule;
  /** Keep the testnet folder and logs (their path is printed). */
  readonly keep: boolean;
  /** Transactions per second of the load generator. */
  readonly rate: number;
  /** How long every node may take to reach the majority's tip after a heal. */
  readonly convergeMs: number;
  readonly out: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface ValidatorView {
  readonly bondedStake: string;
  readonly jailed: boolean;
  readonly tombstoned: boolean;
  readonly votingPower: number;
}

/** Everything a run starts, for the cleanup (also on a signal or a failure). */
class Resources {
  net: ChaosNet | undefined;
  nodes: ChaosNode[] = [];
  loads = new Set<ChildProcess>();
  dir: string | undefined;
  keep = false;
  #cleaned = false;

  async cleanup(out: (line: string) => void): Promise<void> {
    if (this.#cleaned) return;
    this.#cleaned = true;
    for (const l of this.loads) l.kill('SIGKILL');
    await Promise.all(this.nodes.map((n) => n.kill()));
    for (const n of this.nodes) n.close();
    this.net?.teardown();
    // Whatever is left under our prefix (a proxy, a namespace).
    cleanupLeftovers();
    if (this.dir !== undefined) {
      if (this.keep) out(`kept the testnet and logs in ${this.dir}`);
      else await rm(this.dir, { recursive: true, force: true });
    }
  }
}

export const resources = new Resources();

export async function chaosRun(o: RunOptions): Promise<{ passed: number; failed: number }> {
  const { schedule, out } = o;
  const topo = schedule.topology;
  const checks = new Checks(out);
  resources.keep = o.keep;
  const dir = await mkdtemp(join(tmpdir(), 'synchaos-'));
  resources.dir = dir;
  // Marked at once: the cleanup of leftovers (at the end, or by a later run) leaves a kept folder alone.
  if (o.keep) await writeFile(join(dir, KEPT_MARK), 'kept by --keep: a later run leaves this folder alone\n');
  const chainId = `test-chaos-${schedule.seed}`;
  const net = new ChaosNet(topo.nodes);
  resources.net = net;
  net.setup(P2P_PORT);
  out(
    `network: ${topo.nodes} namespaces on a bridge, nodes at ${nodeAddress(0)}…${nodeAddress(topo.nodes - 1)}`,
  );

  const hosts = Array.from({ length: topo.nodes }, (_, i) => nodeAddress(i)).join(',');
  const testnetOut = run(process.execPath, [
    SYNODD,
    'testnet',
    '--validators',
    String(topo.validators),
    '--non-validators',
    String(topo.nodes - topo.validators),
    '--out',
    join(dir, 'net'),
    '--hosts',
    hosts,
    '--chain-id',
    chainId,
    '--accounts',
    '16',
  ]);
  const peerIds = [...testnetOut.matchAll(/^\s+node(\d+)\s.*\bid (\S+)/gm)].map((m) => m[2] as string);
  const nodes = Array.from({ length: topo.nodes }, (_, i) => {
    const n = new ChaosNode(i, join(dir, 'net', `node${i}`), i < topo.validators, dir);
    n.peerId = peerIds[i] ?? '';
    return n;
  });
  resources.nodes = nodes;
  const pubKeys = await Promise.all(
    nodes.map(async (n) =>
      toHex((await readKeyFile(join(n.home, 'config/priv_validator_key.json'))).keyPair.publicKey),
    ),
  );
  for (const n of nodes) n.start();
  const honestNodes = nodes.filter((n) => !topo.byzantine.includes(n.index));
  await waitFor(
    async () => (await Promise.all(nodes.map(heightOf))).every((h) => h !== undefined && h >= 2),
    90_000,
    'every node at height 2',
  );
  out(`testnet ${chainId} running: ${topo.nodes} nodes at height ≥ 2 (logs in ${dir}/node*.log)`);

  const validatorView = async (via: ChaosNode, i: number): Promise<ValidatorView> => {
    const r = await rpc<{ response: { code: number; value: string; log: string } }>(
      via.rpcUrl,
      'abci_query',
      {
        path: '/validator',
        data: pubKeys[i],
      },
    );
    if (r.response.code !== 0) throw new Error(`validator query: ${r.response.log}`);
    return JSON.parse(Buffer.from(r.response.value, 'base64').toString('utf8')) as ValidatorView;
  };
  const genesisStake = new Map<number, bigint>();
  for (let i = 0; i < topo.validators; i++)
    genesisStake.set(i, BigInt((await validatorView(nodes[0] as ChaosNode, i)).bondedStake));

  /** A node to read from: running, honest, not `except`. */
  const reader = (except: readonly number[] = []): ChaosNode =>
    (honestNodes.find((n) => n.running && !except.includes(n.index)) ?? nodes[0]) as ChaosNode;

  // ---- per-phase helpers -------------------------------------------------------------
  let checkedHeight = 0;
  const safetyCheck = async (label: string): Promise<void> => {
    const live = honestNodes.filter((n) => n.running);
    const tips = await Promise.all(live.map(heightOf));
    const tip = Math.min(...tips.map((t) => t ?? 0));
    const from = Math.max(1, checkedHeight - 5);
    const hashes = await Promise.all(live.map((n) => blockHashes(n, from, tip)));
    let bad = '';
    for (let h = from; h <= tip && bad === ''; h++) {
      const seen = new Set(hashes.map((m) => m.get(h)));
      if (seen.size !== 1 || seen.has(undefined))
        bad = `height ${h}: ${live.map((n, k) => `${n.name}=${hashes[k]?.get(h)?.slice(0, 12) ?? 'missing'}`).join(' ')}`;
    }
    checks.check(
      'safety: every node has the same block at every height',
      bad === '',
      bad === ''
        ? `${label}: heights ${from}–${tip} identical on ${live.length} honest nodes`
        : `${label}: ${bad}`,
    );
    if (bad === '') checkedHeight = tip;
  };

  const converge = async (label: string, expect: readonly ChaosNode[]): Promise<void> => {
    const t0 = Date.now();
    const target = Math.max(...(await Promise.all(expect.map(heightOf))).map((h) => h ?? 0));
    let heights: (number | undefined)[] = [];
    const ok = await waitFor(
      async () => {
        heights = await Promise.all(expect.map(heightOf));
        return heights.every((h) => h !== undefined && h >= target + 1);
      },
      o.convergeMs,
      'converge',
    ).then(
      () => true,
      () => false,
    );
    checks.check(
      'liveness: after healing every node reached the same tip within the bound',
      ok,
      ok
        ? `${label}: ${expect.length} nodes past height ${target} in ${((Date.now() - t0) / 1000).toFixed(1)} s (bound ${o.convergeMs / 1000} s)`
        : `${label}: not every node passed height ${target} within ${o.convergeMs / 1000} s: ${expect.map((n, k) => `${n.name}=${heights[k] ?? 'down'}`).join(' ')}`,
    );
  };

  const missedOf = async (via: ChaosNode, i: number): Promise<number> => {
    const addr = await validatorAddress(via, pubKeys[i] as string);
    const m = await metricsOf(via);
    return metricSum(m, `synod_node_validator_missed_blocks_total{validator="${addr}"}`);
  };

  /** The latest block's tx and hash on `n` (to find again after its restart). */
  const remember = async (
    n: ChaosNode,
  ): Promise<{ height: number; hash: string; tx?: string } | undefined> => {
    try {
      const h = (await heightOf(n)) ?? 0;
      for (let k = h; k > Math.max(0, h - 30); k--) {
        const b = await rpc<{ block_id: { hash: string }; block: { data: { txs: string[] } } }>(
          n.rpcUrl,
          'block',
          { height: String(k) },
        );
        const tx = b.block.data.txs[0];
        if (tx !== undefined)
          return { height: k, hash: b.block_id.hash, tx: toHex(txHash(Buffer.from(tx, 'base64'))) };
      }
      if (h === 0) return undefined;
      const b = await rpc<{ block_id: { hash: string } }>(n.rpcUrl, 'block', { height: String(h) });
      return { height: h, hash: b.block_id.hash };
    } catch {
      return undefined;
    }
  };
  const recall = async (
    n: ChaosNode,
    r: { height: number; hash: string; tx?: string } | undefined,
    label: string,
  ): Promise<void> => {
    if (r === undefined) return;
    let ok = false;
    let why = '';
    try {
      const b = await rpc<{ block_id: { hash: string } }>(n.rpcUrl, 'block', { height: String(r.height) });
      ok = b.block_id.hash === r.hash;
      if (!ok) why = `block ${r.height} is ${b.block_id.hash} after the restart, was ${r.hash}`;
      if (ok && r.tx !== undefined) {
        const t = await rpc<{ height: string }>(n.rpcUrl, 'tx', {
          hash: Buffer.from(fromHex(r.tx)).toString('base64'),
        });
        ok = Number(t.height) === r.height;
        if (!ok) why = `tx ${r.tx.slice(0, 12)} at height ${t.height}, was ${r.height}`;
      }
    } catch (err) {
      why = (err as Error).message;
    }
    checks.check(
      'safety: no committed transaction or block lost across restarts',
      ok,
      ok
        ? `${label}: ${n.name} still has block ${r.height}${r.tx === undefined ? '' : ` and its tx ${r.tx.slice(0, 12)}…`}`
        : `${label}: ${n.name}: ${why}`,
    );
  };

  const restart = async (n: ChaosNode, how: 'kill' | 'term', flags?: string[]): Promise<void> => {
    if (how === 'kill') await n.kill();
    else await n.stop();
    if (flags !== undefined) n.extraFlags = flags;
    n.start();
  };

  /** Starts a load on `targets` for `ms` (drained after), reported when it exits. */
  const startLoad = (targets: readonly ChaosNode[], ms: number): Promise<LoadResult | undefined> => {
    if (targets.length === 0) return Promise.resolve(undefined);
    const child = spawn(
      process.execPath,
      [
        SYNOD,
        'load',
        '--rate',
        String(o.rate),
        '--duration',
        `${Math.max(1, Math.round(ms / 1000))}s`,
        '--drain',
        `${Math.round((o.convergeMs + 30_000) / 1000)}s`,
        '--keys',
        join(dir, 'net', 'keys'),
        '--output',
        'json',
        '--node',
        ...targets.map((t) => t.rpcUrl),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    resources.loads.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    return new Promise((resolve) => {
      child.on('exit', (code) => {
        resources.loads.delete(child);
        try {
          resolve({ ...(JSON.parse(stdout) as LoadResult), exitCode: code ?? -1 });
        } catch {
          resolve({
            submitted: 0,
            accepted: 0,
            committed: 0,
            pendingAtEnd: -1,
            unanswered: 0,
            rejections: {},
            exitCode: code ?? -1,
            error: stderr.trim().split('\n').pop() ?? '',
          });
        }
      });
    });
  };
  const checkLoad = (label: string, r: LoadResult | undefined): void => {
    if (r === undefined) return;
    const ok = r.exitCode === 0 && r.pendingAtEnd === 0 && r.committed >= r.accepted && r.accepted > 0;
    checks.check(
      'liveness: every valid submitted transaction was committed',
      ok,
      r.error !== undefined
        ? `${label}: the load generator failed: ${r.error}`
        : `${label}: ${r.submitted} submitted, ${r.accepted} accepted, ${r.committed} committed, ${r.pendingAtEnd} pending at the end${Object.keys(r.rejections).length > 0 ? `, refused: ${JSON.stringify(r.rejections)}` : ''}`,
    );
  };

  // ---- phases --------------------------------------------------------------------------
  const phaseReport: string[] = [];
  for (const [k, phase] of schedule.phases.entries()) {
    const label = `phase ${k + 1}`;
    out(`\n${label}${phase.with === undefined ? '' : ' (combined)'}: ${describePhase(phase)}`);
    const t0 = Date.now();
    const touched = { stopped: faultsOf(phase).flatMap((f) => touchedBy(f).stopped) };
    // The load goes to running honest nodes the phase does not stop (an account's transactions all go to one node).
    const loadTargets = honestNodes.filter((n) => n.running && !touched.stopped.includes(n.index));
    // A Byzantine phase lasts until its check holds (often seconds): its load is short.
    const load = startLoad(
      loadTargets,
      phase.fault.kind === 'byzantine' ? Math.min(phase.durationMs, 15_000) : phase.durationMs,
    );
    await sleep(3000);
    const detail = await runPhase(phase, {
      nodes,
      honestNodes,
      net,
      checks,
      topo,
      validatorView,
      genesisStake,
      missedOf,
      remember,
      recall,
      restart,
      reader,
      witness: (i: number) =>
        honestNodes.find((n) => n.running && n.index !== i && !net.cutOff(n.index, i)) ?? reader([i]),
      pubKeys,
      consensusParams: async () => {
        const r = await rpc<{ response: { value: string } }>(reader().rpcUrl, 'abci_query', {
          path: '/params',
        });
        return (
          JSON.parse(Buffer.from(r.response.value, 'base64').toString('utf8')) as {
            consensusParams: ConsensusParams;
          }
        ).consensusParams;
      },
      out,
    });
    const faultDone = Date.now();
    net.heal();
    // Every honest running node, and the ones the phase stopped (restarted by now), reach the tip.
    await converge(
      label,
      honestNodes.filter((n) => n.running),
    );
    await safetyCheck(label);
    const checked = Date.now();
    const loaded = await load;
    const s = (a: number, b: number): string => `${((b - a) / 1000).toFixed(1)} s`;
    out(
      `    (${label}: the fault and its checks ${s(t0, faultDone)}, heal and convergence ${s(faultDone, checked)}, then the load's drain ${s(checked, Date.now())})`,
    );
    checkLoad(label, loaded);
    phaseReport.push(
      `${label} (${((Date.now() - t0) / 1000).toFixed(0)} s): ${describePhase(phase)}${detail === '' ? '' : ` — ${detail}`}`,
    );
  }

  // ---- final checks --------------------------------------------------------------------
  out('\nfinal checks');
  const finalLoad = startLoad(
    honestNodes.filter((n) => n.running),
    10_000,
  );
  checkLoad('final', await finalLoad);
  await converge(
    'final',
    honestNodes.filter((n) => n.running),
  );
  checkedHeight = 0;
  await safetyCheck('final, from height 1');
  const via = reader();
  for (let i = 0; i < topo.validators; i++) {
    if (topo.byzantine.includes(i)) continue;
    const v = await validatorView(via, i);
    const ok = !v.jailed && !v.tombstoned && BigInt(v.bondedStake) === genesisStake.get(i);
    checks.check(
      'accountability: no honest validator punished',
      ok,
      `node${i}: stake ${v.bondedStake} (genesis ${genesisStake.get(i)}), jailed ${v.jailed}, tombstoned ${v.tombstoned}`,
    );
  }
  // Stop everything, then read what every honest validator signed.
  await Promise.all(nodes.map((n) => n.stop()));
  for (const n of honestNodes) {
    if (!n.validator) continue;
    const a = await auditSigner(n.home, chainId);
    checks.check(
      'safety: no honest validator signed two messages for one (height, round, step) (WAL, signer state)',
      a.doubleSigns.length === 0 && a.stateProblems.length === 0 && a.signed > 0,
      a.doubleSigns.length > 0
        ? `${n.name}: two different messages signed at ${a.doubleSigns.slice(0, 3).join(', ')}`
        : a.stateProblems.length > 0
          ? `${n.name}: ${a.stateProblems[0]}`
          : `${n.name}: ${a.signed} signatures in its WAL, one message each; signer state at or past them`,
    );
  }
  const unexpected = honestNodes.flatMap((n) =>
    n.events
      .filter((e) =>
        ['conflicting_commits', 'node_halted', 'consensus_halted', 'crash', 'unhandled_rejection'].includes(
          String(e.line.event),
        ),
      )
      .map(
        (e) =>
          `${n.name}: ${e.line.event}: ${String(e.line.msg)} ${String(e.line.error ?? e.line.reason ?? '')}`,
      ),
  );
  checks.check(
    'safety: every node has the same block at every height',
    unexpected.length === 0,
    unexpected.length === 0
      ? 'no honest node logged a security alert, halt, crash or unhandled rejection'
      : `${unexpected.length} alarming log lines; first: ${unexpected[0]}`,
  );

  const s = checks.summary();
  out('\nsummary');
  for (const l of s.lines) out(l);
  for (const p of s.notRun) out(`not exercised by this schedule: ${p}`);
  out(`\nseed ${schedule.seed}; schedule:`);
  for (const l of phaseReport) out(`  ${l}`);
  if (s.failed > 0) {
    // The folder goes at the end unless --keep, and CI keeps only this output: what the nodes said.
    out(`\nthe nodes' notable log lines (the last ${LOG_EXTRACT_LINES} of each; all of them with --keep)`);
    for (const n of nodes)
      for (const l of await logExtract(join(dir, `${n.name}.log`))) out(`  ${n.name} ${l}`);
  }
  out(`\n${s.passed} passed, ${s.failed} failed`);
  return { passed: s.passed, failed: s.failed };
}

/** Lines of each node's log printed after a failed run. */
const LOG_EXTRACT_LINES = 60;

/**
 * A node log's notable lines, compact: warnings, errors, lines with an
 * `event` (block sync, partitions, peers) and the script's marks (start,
 * exit), not the per-block ones.
 */
export async function logExtract(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return ['(no log)'];
  }
  const picked: string[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      picked.push(raw.slice(0, 200));
      continue;
    }
    if (line.chaos !== undefined) {
      // The script's own marks (start, exit, signals) in the node's log.
      const { chaos, atMs, ...rest } = line;
      const at = typeof atMs === 'number' ? new Date(atMs).toISOString().slice(11, 23) : '';
      picked.push(`${at} chaos: ${String(chaos)} ${JSON.stringify(rest)}`.slice(0, 240));
      continue;
    }
    const level = String(line.level ?? '');
    const notable = level === 'warn' || level === 'error' || level === 'fatal' || line.event !== undefined;
    if (!notable || line.msg === 'committed block') continue;
    const { time, level: _l, msg, module, ...rest } = line;
    const at = typeof time === 'string' ? time.slice(11, 23) : '';
    picked.push(
      `${at} ${level} ${String(module ?? '')}: ${String(msg)} ${JSON.stringify(rest)}`.slice(0, 240),
    );
  }
  return picked.slice(-LOG_EXTRACT_LINES);
}

interface LoadResult {
  readonly submitted: number;
  readonly accepted: number;
  readonly committed: number;
  readonly pendingAtEnd: number;
  readonly unanswered: number;
  readonly rejections: Record<string, number>;
  readonly exitCode: number;
  readonly error?: string;
}

/** Which nodes a fault stops or restarts (the load avoids them). */
function touchedBy(f: Fault): { stopped: number[] } {
  switch (f.kind) {
    case 'kill':
    case 'pause':
    case 'restart':
    case 'clock-skew':
    case 'wal-truncate':
    case 'byzantine':
      return { stopped: [f.node] };
    case 'storm':
      return { stopped: [...new Set(f.nodes)] };
    case 'latency':
      // Restarted so that all of its connections take the delay proxies.
      return { stopped: [f.node] };
    default:
      return { stopped: [] };
  }
}

async function waitFor(test: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await test()) return;
    if (Date.now() > deadline) throw new Error(`timed out (${ms / 1000} s) waiting for ${what}`);
    await sleep(500);
  }
}

/** height → block hash of `n`'s blocks from..to (the `blockchain` method, 20 at a time). */
async function blockHashes(n: ChaosNode, from: number, to: number): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (let max = to; max >= from; max -= 20) {
    try {
      const r = await rpc<{ block_metas: { block_id: { hash: string }; header: { height: string } }[] }>(
        n.rpcUrl,
        'blockchain',
        { minHeight: String(Math.max(from, max - 19)), maxHeight: String(max) },
      );
      for (const m of r.block_metas) out.set(Number(m.header.height), m.block_id.hash);
    } catch {
      break;
    }
  }
  return out;
}

const addressCache = new Map<string, string>();
/** A validator's address (hex, lower case as the metrics label it) from its public key. */
async function validatorAddress(via: ChaosNode, pubKey: string): Promise<string> {
  const known = addressCache.get(pubKey);
  if (known !== undefined) return known;
  const r = await rpc<{ response: { value: string } }>(via.rpcUrl, 'abci_query', {
    path: '/validator',
    data: pubKey,
  });
  const v = JSON.parse(Buffer.from(r.response.value, 'base64').toString('utf8')) as { address: string };
  const addr = v.address.toLowerCase().replace(/^0x/, '');
  addressCache.set(pubKey, addr);
  return addr;
}

// ---- the faults --------------------------------------------------------------------------

interface PhaseContext {
  readonly nodes: ChaosNode[];
  readonly honestNodes: ChaosNode[];
  readonly net: ChaosNet;
  readonly checks: Checks;
  readonly topo: Schedule['topology'];
  readonly validatorView: (via: ChaosNode, i: number) => Promise<ValidatorView>;
  readonly genesisStake: Map<number, bigint>;
  readonly missedOf: (via: ChaosNode, i: number) => Promise<number>;
  readonly remember: (n: ChaosNode) => Promise<{ height: number; hash: string; tx?: string } | undefined>;
  readonly recall: (
    n: ChaosNode,
    r: { height: number; hash: string; tx?: string } | undefined,
    label: string,
  ) => Promise<void>;
  readonly restart: (n: ChaosNode, how: 'kill' | 'term', flags?: string[]) => Promise<void>;
  readonly reader: (except?: readonly number[]) => ChaosNode;
  /** A running honest node other than `i` that the partition in force does not cut off from it. */
  readonly witness: (i: number) => ChaosNode;
  /** Called by the first fault of a combined phase once it is in force (the others then start). */
  readonly inForce?: () => void;
  readonly pubKeys: readonly string[];
  readonly consensusParams: () => Promise<ConsensusParams>;
  readonly out: (line: string) => void;
}

/**
 * Runs one phase: its fault, or its combined faults at once (each with its
 * own checks); returns a note for the schedule printed at the end.
 */
async function runPhase(phase: Phase, c: PhaseContext): Promise<string> {
  const faults = faultsOf(phase);
  if (faults.length === 1) return runFault(phase, c);
  // A Byzantine phase lasts until its check holds (its duration is a bound): what is combined with
  // it holds at most 15 s.
  const combinedMs = phase.fault.kind === 'byzantine' ? Math.min(phase.durationMs, 15_000) : phase.durationMs;
  // The combined faults start once the first one is in force (a partition cut, a Byzantine node's
  // restart begun): a kill's witness is then chosen on the killed node's side of the partition.
  let inForce = (): void => {};
  const ready = new Promise<void>((resolve) => {
    inForce = resolve;
  });
  const notes = await Promise.all(
    faults.map(async (fault, k) => {
      if (k === 0) return runFault({ fault, durationMs: phase.durationMs }, { ...c, inForce });
      await ready;
      return runFault({ fault, durationMs: combinedMs }, c);
    }),
  );
  return notes.filter((n) => n !== '').join('; ');
}

/** Runs one fault for `phase.durationMs`, with its checks. */
async function runFault(phase: Phase, c: PhaseContext): Promise<string> {
  const f = phase.fault;
  const node = (i: number): ChaosNode => c.nodes[i] as ChaosNode;
  const op = (ok: boolean, detail: string): void => {
    c.checks.check('operability: metrics and logs show each fault', ok, detail);
  };
  // A partition is in force once cut (below); any other fault as it begins.
  if (f.kind !== 'partition' && f.kind !== 'isolate-proposer') c.inForce?.();
  switch (f.kind) {
    case 'partition':
    case 'isolate-proposer': {
      let a: number[];
      let b: number[];
      let note = '';
      if (f.kind === 'partition') {
        a = [...f.a];
        b = [...f.b];
      } else {
        const p = await nextProposer(c);
        a = [p];
        b = c.nodes.map((n) => n.index).filter((i) => i !== p && c.nodes[i]?.running === true);
        note = `isolated node${p}`;
        c.out(`  the next proposer is node${p}: isolating it`);
      }
      // The power on each side, in validators: a testnet's validators all have the same power.
      const activeValidators = await activeSet(c);
      const side = (g: number[]): number => g.filter((i) => activeValidators.includes(i)).length;
      const total = activeValidators.length;
      const missedBefore = new Map<number, number>();
      for (const i of a)
        if (activeValidators.includes(i)) missedBefore.set(i, await c.missedOf(c.reader(a), i));
      c.net.partition(a, b);
      c.inForce?.();
      const t0 = Date.now();
      const start = await heightsOf(c.nodes);
      await sleep(phase.durationMs);
      const end = await heightsOf(c.nodes);
      for (const g of [a, b]) {
        const p = side(g);
        const names = g.map((i) => `node${i}`).join(',');
        // A node whose height could not be read at either end (killed, restarting) is left out.
        const gained = Math.min(
          ...g
            .filter((i) => c.nodes[i]?.running && (start[i] ?? 0) > 0 && (end[i] ?? 0) > 0)
            .map((i) => (end[i] ?? 0) - (start[i] ?? 0)),
        );
        if (3 * p > 2 * total) {
          c.checks.check(
            'liveness: a side with more than 2/3 of the power kept committing',
            gained >= 2,
            `{${names}} (${p} of ${total} validators) committed ${gained} blocks in ${(phase.durationMs / 1000).toFixed(0)} s`,
          );
        } else {
          // One block may still be decided from votes already in flight when the partition began.
          c.checks.check(
            'liveness: a side without 2/3 of the power never committed',
            gained <= 1,
            `{${names}} (${p} of ${total} validators) committed ${gained} block${gained === 1 ? ' (decided before the cut)' : 's'}`,
          );
        }
      }
      // Operability: the side that cannot commit says so (partition_suspected), and heals (partition_healed);
      // the majority's metrics count the cut-off validators' missed blocks.
      // A node (re)started during the partition by a fault combined with it is left out: its stall
      // counts from its start.
      const restarted = c.nodes.filter((n) => n.startedAtMs >= t0).map((n) => n.index);
      const stalled = [a, b]
        .filter((g) => 3 * side(g) <= 2 * total)
        .flat()
        .filter((i) => c.nodes[i]?.running && !restarted.includes(i));
      const suspected = stalled.filter((i) => node(i).eventsOf('partition_suspected', t0).length > 0);
      op(
        suspected.length === stalled.length,
        `partition_suspected logged by ${suspected.length} of ${stalled.length} nodes that could not commit`,
      );
      const majority = [a, b].find((g) => 3 * side(g) > 2 * total);
      if (majority !== undefined) {
        const rose: string[] = [];
        for (const [i, before] of missedBefore) {
          const after = await c.missedOf(c.reader(a), i);
          if (after > before) rose.push(`node${i} +${after - before}`);
        }
        op(
          rose.length === missedBefore.size,
          `missed-block metric of the cut-off validators on the majority: ${rose.length === 0 ? 'unchanged' : rose.join(', ')}`,
        );
      }
      c.net.healPartition();
      if (stalled.length > 0) {
        const healed = await waitUntil(
          () => stalled.every((i) => node(i).eventsOf('partition_healed', t0).length > 0),
          60_000,
        );
        op(
          healed,
          `partition_healed logged by the stalled nodes after the heal: ${
            healed
              ? 'all'
              : stalled
                  .filter((i) => node(i).eventsOf('partition_healed', t0).length === 0)
                  .map((i) => `node${i} missing`)
                  .join(', ')
          }`,
        );
      }
      return note;
    }
    case 'kill':
    case 'wal-truncate': {
      const n = node(f.node);
      if (f.kind === 'kill') await sleep(f.afterMs);
      const before = await c.remember(n);
      // A peer that still reaches it (not across a partition combined with the kill).
      const witness = c.witness(f.node);
      const peersBefore = metricSum(await metricsOf(witness), 'synod_p2p_peers');
      await n.kill();
      let note = '';
      if (f.kind === 'wal-truncate') note = await truncateWal(n.home, f.bytes);
      await sleep(3000);
      const scraped = await metricsOf(witness);
      const peersAfter = metricSum(scraped, 'synod_p2p_peers');
      op(
        scraped !== undefined && peersAfter < peersBefore,
        `${witness.name}'s synod_p2p_peers went from ${peersBefore} to ${peersAfter} with ${n.name} killed`,
      );
      await sleep(f.kind === 'kill' ? Math.max(0, f.downMs - 3000) : 2000);
      const t0 = Date.now();
      n.start();
      await waitUntilAsync(async () => ((await heightOf(n)) ?? 0) >= (before?.height ?? 0), 60_000);
      await c.recall(
        n,
        before,
        `${n.name} after SIGKILL${f.kind === 'wal-truncate' ? ' and a cut WAL' : ''}`,
      );
      if (f.kind === 'wal-truncate') {
        const recovered = await waitUntil(
          () => n.starts.some((s) => s.atMs >= t0 && s.line.msg === 'synodd started'),
          30_000,
        );
        op(recovered, `${n.name} restarted on its cut WAL (${note})`);
      }
      const remaining = Math.max(0, phase.durationMs - (f.kind === 'kill' ? f.afterMs + f.downMs : 5000));
      await sleep(Math.min(remaining, 5000));
      return note;
    }
    case 'storm': {
      // What each node had committed before its first kill, to find again once the storm is over.
      const memory = new Map<number, Awaited<ReturnType<PhaseContext['remember']>>>();
      for (const i of f.nodes) {
        const n = node(i);
        if (!memory.has(i) && n.running) memory.set(i, await c.remember(n));
        await n.kill();
        c.out(`  SIGKILL ${n.name}`);
        setTimeout(() => {
          if (!n.running) n.start();
        }, f.downMs).unref();
        await sleep(f.gapMs);
      }
      await sleep(f.downMs + 1000);
      for (const i of new Set(f.nodes)) if (!node(i).running) node(i).start();
      const backUp = await waitUntilAsync(
        async () =>
          (await Promise.all([...new Set(f.nodes)].map((i) => heightOf(node(i))))).every(
            (h) => h !== undefined,
          ),
        60_000,
      );
      op(backUp, `every node of the storm answers its RPC again after its restart`);
      for (const [i, before] of memory) {
        const n = node(i);
        await waitUntilAsync(async () => ((await heightOf(n)) ?? 0) >= (before?.height ?? 0), 60_000);
        await c.recall(n, before, `${n.name} after the storm`);
      }
      return '';
    }
    case 'pause': {
      const n = node(f.node);
      const t0 = Date.now();
      const h0 = (await heightOf(n)) ?? 0;
      n.signal('SIGSTOP');
      await sleep(f.pauseMs);
      n.signal('SIGCONT');
      const caught = await waitUntilAsync(async () => ((await heightOf(n)) ?? 0) > h0 + 1, 60_000);
      const sawIt = n.events.some(
        (e) =>
          e.atMs >= t0 &&
          ['block_sync', 'partition_suspected', 'partition_healed'].includes(String(e.line.event)),
      );
      op(
        caught,
        `${n.name} resumed after ${(f.pauseMs / 1000).toFixed(1)} s stopped and moved on from height ${h0}${sawIt ? ' (its log shows the catch-up)' : ''}`,
      );
      return '';
    }
    case 'restart': {
      const n = node(f.node);
      const before = await c.remember(n);
      const t0 = Date.now();
      await c.restart(n, 'term');
      const started = await waitUntil(
        () => n.starts.some((s) => s.atMs >= t0 && s.line.msg === 'synodd started'),
        60_000,
      );
      op(started, `${n.name} logged synodd stopped and synodd started`);
      await waitUntilAsync(async () => ((await heightOf(n)) ?? 0) >= (before?.height ?? 0), 60_000);
      await c.recall(n, before, `${n.name} after a clean restart`);
      await sleep(Math.max(0, phase.durationMs - (Date.now() - t0)));
      return '';
    }
    case 'clock-skew': {
      const n = node(f.node);
      const t0 = Date.now();
      await c.restart(n, 'term', ['--unsafe-clock-skew-ms', String(f.skewMs)]);
      const logged = await waitUntil(() => n.eventsOf('clock_skew', t0).length > 0, 60_000);
      op(logged, `${n.name} logged clock_skew ${f.skewMs} ms`);
      await sleep(phase.durationMs);
      // Back to the right time for the rest of the run.
      await c.restart(n, 'term', []);
      return '';
    }
    case 'latency':
    case 'loss':
    case 'bandwidth': {
      const n = node(f.node);
      const h0 = await heightsOf(c.nodes);
      let m0 = await metricsOf(n);
      let stopTraffic = (): void => {};
      if (f.kind === 'latency') {
        c.net.latency(f.node, f.delayMs, f.jitterMs, P2P_PORT);
        // Connections open before go direct: restart the node so that all of its connections take the proxies.
        await c.restart(n, 'term');
        m0 = undefined;
      } else if (f.kind === 'loss') c.net.loss(f.node, f.probability);
      else {
        c.net.bandwidth(f.node, f.kbit);
        // A limit shows when the link is used: the script pulls the node's metrics without a pause.
        stopTraffic = pullWithoutPause(n);
      }
      await sleep(phase.durationMs);
      await linkSignal(f, n, m0, c);
      stopTraffic();
      const h1 = await heightsOf(c.nodes);
      const gained = (h1[f.node] ?? 0) - (h0[f.node] ?? 0);
      // The chain may be stalled by a fault combined with this one (a 2–2 partition): then the node
      // only has to be where the honest nodes are.
      const honest = c.honestNodes.filter((h) => h.running && h.index !== f.node);
      const best = Math.max(0, ...honest.map((h) => (h1[h.index] ?? 0) - (h0[h.index] ?? 0)));
      const tip = Math.max(0, ...honest.map((h) => h1[h.index] ?? 0));
      const stalledChain = best <= 1;
      c.checks.check(
        'liveness: a side with more than 2/3 of the power kept committing',
        gained >= 1 || (stalledChain && (h1[f.node] ?? 0) >= tip - 1),
        `${n.name} under ${f.kind} still followed the chain: +${gained} blocks in ${(phase.durationMs / 1000).toFixed(0)} s${stalledChain ? ` (the chain stalled: honest nodes +${best} at most; ${n.name} at ${h1[f.node]}, tip ${tip})` : ''}`,
      );
      return '';
    }
    case 'byzantine': {
      const n = node(f.node);
      const t0 = Date.now();
      await c.restart(n, 'term', ['--unsafe-byzantine', f.mode]);
      // A loaded machine may take a while to start it: the phase's time counts from its start.
      await waitUntil(() => n.starts.some((s) => s.atMs >= t0 && s.line.msg === 'synodd started'), 60_000);
      const acted = await waitUntil(
        () => n.eventsOf(f.mode === 'silent' ? 'byzantine_mode' : 'byzantine_action', t0).length > 0,
        phase.durationMs,
      );
      op(acted, `${n.name} logged its Byzantine mode ${f.mode}${f.mode === 'silent' ? '' : ' acting'}`);
      const honest = c.honestNodes.filter((h) => h.running);
      if (f.mode === 'equivocate' || f.mode === 'double-propose') {
        const event = f.mode === 'equivocate' ? 'equivocation' : 'double_proposal';
        // The ledger's rule (@synod/fault-detector's equivocationPunishment) with the chain's parameters.
        let v: ValidatorView | undefined;
        const punished = await waitUntilAsync(async () => {
          v = await c.validatorView(c.reader(), f.node).catch(() => undefined);
          return v?.tombstoned === true;
        }, phase.durationMs);
        const stake0 = c.genesisStake.get(f.node) ?? 0n;
        const params = await c.consensusParams();
        const rule = equivocationPunishment(
          f.mode === 'equivocate' ? 'duplicate-vote' : 'double-proposal',
          stake0,
          params,
        );
        const expected = stake0 - rule.slashAmount;
        c.checks.check(
          'accountability: each Byzantine validator committed as evidence and punished by the ledger rules',
          punished &&
            v?.jailed === true &&
            v.tombstoned === rule.tombstone &&
            BigInt(v.bondedStake) === expected &&
            v.votingPower === 0,
          v === undefined
            ? `${n.name} (${f.mode}): no validator record`
            : `${n.name} (${f.mode}): tombstoned ${v.tombstoned}, jailed ${v.jailed}, stake ${v.bondedStake} (the rule: ${expected}, ${rule.slashAmount} of ${stake0} slashed, jailed for ever, tombstoned), power ${v.votingPower}`,
        );
        const saw = honest.filter((h) => h.eventsOf(event, t0).length > 0);
        // The block with the evidence may reach a node a moment after the one that was asked.
        let counted = 0;
        await waitUntilAsync(async () => {
          const m = await Promise.all(honest.map(metricsOf));
          counted = m.filter((x) => metricSum(x, 'synod_node_evidence_committed_total') > 0).length;
          return counted === honest.length;
        }, 30_000);
        op(
          saw.length > 0 && counted === honest.length,
          `${event} logged by ${saw.length} of ${honest.length} honest nodes; synod_node_evidence_committed_total > 0 on ${counted} of ${honest.length}`,
        );
        // Tombstoned: it will never be back in the set; it stops here (less load on the machine).
        await n.stop();
        return `${n.name} tombstoned`;
      }
      if (f.mode === 'garbage') {
        // Every honest node rejects its garbage on each request/response protocol (a bad_request line
        // naming the protocol), then bans it.
        const rejectedAll = (h: ChaosNode): boolean =>
          REQRESP_PROTOCOLS.every((p) =>
            h.eventsOf('bad_request', t0).some((e) => e.peer === n.peerId && e.protocol === p),
          );
        const banOf = (h: ChaosNode) => h.eventsOf('peer_banned', t0).find((e) => e.peer === n.peerId);
        const banned = await waitUntil(
          () => honest.every((h) => banOf(h) !== undefined && rejectedAll(h)),
          phase.durationMs,
        );
        const by = honest.filter((h) => banOf(h) !== undefined);
        const rejecting = honest.filter(rejectedAll);
        const reasons = new Map<string, number>();
        for (const h of by) {
          const b = banOf(h);
          const why = `${String(b?.reason)}${b?.protocol === undefined ? '' : ` on ${String(b.protocol)}`}`;
          reasons.set(why, (reasons.get(why) ?? 0) + 1);
        }
        const missing = honest
          .flatMap((h) =>
            REQRESP_PROTOCOLS.filter(
              (p) => !h.eventsOf('bad_request', t0).some((e) => e.peer === n.peerId && e.protocol === p),
            ).map((p) => `${h.name}/${p}`),
          )
          .slice(0, 6);
        c.checks.check(
          'accountability: each garbage-sending peer banned by its honest peers',
          banned,
          `${n.name} (${n.peerId.slice(0, 16)}…) banned by ${by.length} of ${honest.length} honest nodes (${[...reasons].map(([r, k]) => `${r}: ${k}`).join(', ') || 'no ban'}), ${((Date.now() - t0) / 1000).toFixed(1)} s after its restart; ${rejecting.length} of ${honest.length} logged bad_request on each of ${REQRESP_PROTOCOLS.join(', ')}${missing.length > 0 ? ` (missing: ${missing.join(', ')})` : ''}`,
        );
        const m = await Promise.all(honest.map(metricsOf));
        const counted = m.filter((x) => metricSum(x, 'synod_p2p_peer_bans_total') > 0).length;
        const perProtocol = m.filter((x) =>
          REQRESP_PROTOCOLS.every((p) =>
            [...(x ?? new Map<string, number>())].some(
              ([k, v]) => k.startsWith(`synod_p2p_bad_requests_total{protocol="${p}",`) && v > 0,
            ),
          ),
        ).length;
        op(
          counted === honest.length && perProtocol === honest.length,
          `synod_p2p_peer_bans_total > 0 on ${counted} of ${honest.length} honest nodes; synod_p2p_bad_requests_total > 0 for every protocol on ${perProtocol} of ${honest.length}`,
        );
        await n.stop();
        return `${n.name} banned`;
      }
      // flood-votes, silent: bounded work for the honest nodes, who keep committing.
      const watcher = c.reader();
      const missed0 = await c.missedOf(watcher, f.node);
      const h0 = await heightsOf(c.nodes);
      await sleep(phase.durationMs);
      const h1 = await heightsOf(c.nodes);
      const gained = Math.min(...honest.map((h) => (h1[h.index] ?? 0) - (h0[h.index] ?? 0)));
      const lowest = honest.find((h) => (h1[h.index] ?? 0) - (h0[h.index] ?? 0) === gained);
      c.checks.check(
        'liveness: a side with more than 2/3 of the power kept committing',
        gained >= 2,
        `with ${n.name} ${f.mode === 'silent' ? 'silent' : 'flooding votes'}, every honest node committed ≥ ${gained} blocks (the fewest: ${lowest?.name}, ${h0[lowest?.index ?? 0]} → ${h1[lowest?.index ?? 0]}) in ${(phase.durationMs / 1000).toFixed(0)} s`,
      );
      if (f.mode === 'silent') {
        const missed = await c.missedOf(watcher, f.node);
        op(
          missed > missed0,
          `synod_node_validator_missed_blocks_total of ${n.name} on ${watcher.name}: ${missed0} → ${missed} while silent`,
        );
      } else {
        const m = await Promise.all(honest.map(metricsOf));
        const rss = m.map((x) => Math.round(metricSum(x, 'process_resident_memory_bytes') / 2 ** 20));
        op(
          rss.every((r) => r > 0 && r < 2048),
          `honest nodes' memory under the flood: ${rss.join(', ')} MiB`,
        );
      }
      // Neither a flood of future-round votes nor a short silence is evidence: the ledger must not
      // tombstone it (a downtime jail is the rules' own answer to a long enough absence).
      const after = await c.validatorView(c.reader(), f.node).catch(() => undefined);
      c.checks.check(
        'accountability: each Byzantine validator committed as evidence and punished by the ledger rules',
        after !== undefined && !after.tombstoned,
        `${n.name} after ${f.mode}: not tombstoned (${after === undefined ? 'no record' : `tombstoned ${after.tombstoned}, jailed ${after.jailed}`}): no evidence is due`,
      );
      // Back to honest behaviour for the next phase.
      await c.restart(n, 'term', []);
      return '';
    }
  }
}

async function heightsOf(nodes: readonly ChaosNode[]): Promise<Record<number, number>> {
  const hs = await Promise.all(nodes.map(heightOf));
  const out: Record<number, number> = {};
  nodes.forEach((n, k) => {
    out[n.index] = hs[k] ?? 0;
  });
  return out;
}

async function waitUntil(test: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) return false;
    await sleep(250);
  }
  return true;
}

async function waitUntilAsync(test: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await test().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await sleep(500);
  }
}

/** Indices of the validators in the current set (power > 0). */
async function activeSet(c: PhaseContext): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < c.topo.validators; i++) {
    const v = await c.validatorView(c.reader(), i).catch(() => undefined);
    if (v !== undefined && v.votingPower > 0 && c.nodes[i]?.running === true) out.push(i);
  }
  return out;
}

/**
 * The proposer of the next height: the set rotates among equal powers, so
 * it is the validator after the latest block's proposer in the set's order.
 */
async function nextProposer(c: PhaseContext): Promise<number> {
  const via = c.reader();
  const status = await rpc<{ sync_info: { latest_block_height: string } }>(via.rpcUrl, 'status');
  const h = Number(status.sync_info.latest_block_height);
  const block = await rpc<{ block: { header: { proposer_address: string } } }>(via.rpcUrl, 'block', {
    height: String(h),
  });
  const vals = await rpc<{ validators: { address: string; pub_key: { value: string } }[] }>(
    via.rpcUrl,
    'validators',
    {
      height: String(h + 1),
    },
  );
  const order = vals.validators.map((v) => v.address.toLowerCase());
  const last = order.indexOf(block.block.header.proposer_address.toLowerCase());
  const next = order[(last + 1) % order.length] as string;
  for (let i = 0; i < c.topo.validators; i++)
    if ((await validatorAddress(via, c.pubKeys[i] as string)) === next) return i;
  return c.topo.honestValidators[0] as number;
}

/** Cuts `bytes` off the tail of the node's newest WAL segment (as a crash mid-write would). */
async function truncateWal(home: string, bytes: number): Promise<string> {
  const walDir = join(home, 'data/wal');
  const files = (await readdir(walDir)).filter((f) => !f.startsWith('.')).sort();
  const last = files[files.length - 1];
  if (last === undefined) return 'no WAL segment';
  const path = join(walDir, last);
  const size = (await stat(path)).size;
  const cut = Math.min(bytes, Math.max(0, size - 64));
  const fh = await open(path, 'r+');
  try {
    await fh.truncate(size - cut);
  } finally {
    await fh.close();
  }
  return `cut ${cut} of ${size} bytes of ${last}`;
}

/**
 * What the node's own metrics show of a link fault, as one line; records
 * the operability check. Latency: the mean round trip of its connections
 * (synod_p2p_ping_rtt_seconds, libp2p's connection monitor pings, since its
 * restart behind the proxies) is at least the one-way delay. Loss: its
 * namespace retransmitted TCP segments (synod_net_tcp_retransmitted_segments_total
 * rose). Bandwidth (with the link in use): its pings queue behind the
 * traffic (mean round trip of the phase at least twice the one before and
 * ≥ 50 ms) or the queue overflowed (retransmits rose). The round trips are
 * sampled every 10 s: it waits up to 25 s for one.
 */
async function linkSignal(
  f: Extract<Fault, { kind: 'latency' | 'loss' | 'bandwidth' }>,
  n: ChaosNode,
  m0: Map<string, number> | undefined,
  c: PhaseContext,
): Promise<string> {
  const sum = (m: Map<string, number> | undefined, name: string): number => metricSum(m, name);
  const pings = (m: Map<string, number> | undefined) => ({
    count: sum(m, 'synod_p2p_ping_rtt_seconds_count'),
    seconds: sum(m, 'synod_p2p_ping_rtt_seconds_sum'),
  });
  const p0 = pings(m0);
  let m1: Map<string, number> | undefined;
  const requests = (m: Map<string, number> | undefined) => ({
    count: sum(m, 'synod_p2p_request_duration_seconds_count'),
    seconds: sum(m, 'synod_p2p_request_duration_seconds_sum'),
  });
  await waitUntilAsync(async () => {
    m1 = await metricsOf(n);
    return (
      f.kind === 'loss' ||
      pings(m1).count > p0.count ||
      (f.kind === 'latency' && requests(m1).count > requests(m0).count)
    );
  }, 25_000);
  const p1 = pings(m1);
  const count = p1.count - p0.count;
  const meanMs = count > 0 ? ((p1.seconds - p0.seconds) / count) * 1000 : Number.NaN;
  const beforeMs = p0.count > 0 ? (p0.seconds / p0.count) * 1000 : Number.NaN;
  const retrans =
    sum(m1, 'synod_net_tcp_retransmitted_segments_total') -
    sum(m0, 'synod_net_tcp_retransmitted_segments_total');
  const sent = sum(m1, 'synod_net_tcp_sent_segments_total') - sum(m0, 'synod_net_tcp_sent_segments_total');
  const rtt = `${count} pings, mean round trip ${Number.isNaN(meanMs) ? '–' : meanMs.toFixed(0)} ms`;
  let ok: boolean;
  let detail: string;
  if (f.kind === 'latency') {
    // The round trips, or (no connection lived long enough to be pinged) its requests' durations:
    // each request takes at least two round trips (the protocol's negotiation, then the request).
    const r1 = requests(m1);
    const r0 = requests(m0);
    const reqCount = r1.count - r0.count;
    const reqMeanMs = reqCount > 0 ? ((r1.seconds - r0.seconds) / reqCount) * 1000 : Number.NaN;
    ok = (count > 0 && meanMs >= f.delayMs) || (count === 0 && reqCount > 0 && reqMeanMs >= f.delayMs);
    detail = `${n.name} under ${f.delayMs} ± ${f.jitterMs} ms each way, since its restart behind the proxies: synod_p2p_ping_rtt_seconds ${rtt}; synod_p2p_request_duration_seconds ${reqCount} requests, mean ${Number.isNaN(reqMeanMs) ? '–' : reqMeanMs.toFixed(0)} ms (at least the one-way delay expected)`;
  } else if (f.kind === 'loss') {
    ok = m1 !== undefined && retrans > 0;
    detail = `${n.name} under ${Math.round(f.probability * 100)}% loss: synod_net_tcp_retransmitted_segments_total +${retrans} (of ${sent} segments sent, ${sent > 0 ? ((100 * retrans) / sent).toFixed(1) : '–'}%)`;
  } else {
    const queued = count > 0 && meanMs >= 50 && (Number.isNaN(beforeMs) || meanMs >= 2 * beforeMs);
    ok = queued || retrans > 0;
    detail = `${n.name} at ${f.kbit} kbit/s, its link in use: synod_p2p_ping_rtt_seconds ${rtt} (before: ${Number.isNaN(beforeMs) ? '–' : beforeMs.toFixed(0)} ms), synod_net_tcp_retransmitted_segments_total +${retrans} (of ${sent} sent)`;
  }
  c.checks.check('operability: metrics and logs show each fault', ok, detail);
  return detail;
}

/** Fetches the node's metrics over and over (its outgoing link in use) until the returned stop is called. */
function pullWithoutPause(n: ChaosNode): () => void {
  let stopped = false;
  void (async () => {
    while (!stopped && n.running) {
      try {
        const res = await fetch(n.metricsUrl, { signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
      } catch {
        await sleep(200);
      }
    }
  })();
  return () => {
    stopped = true;
  };
}
