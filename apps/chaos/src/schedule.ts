/**
 * The fault schedule: a list of phases drawn from a seed (the same seed and
 * options give the same schedule, printed at the start so a run can be
 * repeated). Byzantine phases come first (the validators they get punished
 * leave the set), then faults on the honest nodes.
 */

/** mulberry32: a small seeded PRNG (the schedule's only randomness). */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
  shuffle<T>(items: readonly T[]): T[] {
    const a = [...items];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [a[i], a[j]] = [a[j] as T, a[i] as T];
    }
    return a;
  }
}

export type ByzantineMode = 'equivocate' | 'double-propose' | 'silent' | 'garbage' | 'flood-votes';

export type Fault =
  | {
      readonly kind: 'partition';
      readonly shape: '2-2' | '1-3';
      readonly a: readonly number[];
      readonly b: readonly number[];
    }
  /** Cuts the proposer of the next height off from every other node (chosen when the phase starts). */
  | { readonly kind: 'isolate-proposer' }
  | { readonly kind: 'latency'; readonly node: number; readonly delayMs: number; readonly jitterMs: number }
  | { readonly kind: 'loss'; readonly node: number; readonly probability: number }
  | { readonly kind: 'bandwidth'; readonly node: number; readonly kbit: number }
  | { readonly kind: 'kill'; readonly node: number; readonly afterMs: number; readonly downMs: number }
  | {
      readonly kind: 'storm';
      readonly nodes: readonly number[];
      readonly gapMs: number;
      readonly downMs: number;
    }
  | { readonly kind: 'pause'; readonly node: number; readonly pauseMs: number }
  | { readonly kind: 'restart'; readonly node: number }
  | { readonly kind: 'clock-skew'; readonly node: number; readonly skewMs: number }
  | { readonly kind: 'wal-truncate'; readonly node: number; readonly bytes: number }
  | { readonly kind: 'byzantine'; readonly node: number; readonly mode: ByzantineMode };

export interface Phase {
  readonly fault: Fault;
  /**
   * Faults combined with `fault` in the same phase: each starts with it and
   * holds as long, and each has its own checks.
   */
  readonly with?: readonly Fault[];
  /** How long the fault holds (the Byzantine phases: at most this long, until the check holds). */
  readonly durationMs: number;
}

/** Every fault of a phase: `fault`, then the ones combined with it. */
export function faultsOf(p: Phase): readonly Fault[] {
  return [p.fault, ...(p.with ?? [])];
}

export interface Topology {
  /** Validators are nodes 0 … validators - 1. */
  readonly validators: number;
  readonly nodes: number;
  /** Validators that run honestly the whole run (the faults' targets). */
  readonly honestValidators: readonly number[];
  /** Nodes that run a Byzantine mode at some point. */
  readonly byzantine: readonly number[];
}

export interface Schedule {
  readonly seed: number;
  readonly topology: Topology;
  readonly phases: readonly Phase[];
}

/**
 * `--quick`: 4 validators; one partition, one kill, one equivocator, which
 * then sends garbage until banned (about two minutes).
 */
export function quickSchedule(seed: number): Schedule {
  const rng = new Rng(seed);
  const topology: Topology = { validators: 4, nodes: 4, honestValidators: [0, 1, 2], byzantine: [3] };
  const isolated = rng.int(0, 2);
  const killed = rng.pick([0, 1, 2].filter((i) => i !== isolated));
  return {
    seed,
    topology,
    phases: [
      {
        fault: {
          kind: 'partition',
          shape: '1-3',
          a: [isolated],
          b: [0, 1, 2, 3].filter((i) => i !== isolated),
        },
        durationMs: 15_000,
      },
      {
        fault: { kind: 'kill', node: killed, afterMs: rng.int(0, 3000), downMs: rng.int(5000, 10_000) },
        durationMs: 12_000,
      },
      { fault: { kind: 'byzantine', node: 3, mode: 'equivocate' }, durationMs: 60_000 },
      // Tombstoned, it comes back as a garbage-sending peer until its peers ban it.
      { fault: { kind: 'byzantine', node: 3, mode: 'garbage' }, durationMs: 40_000 },
    ],
  };
}

/**
 * The full run: 4 honest validators (0–3), one Byzantine validator (4:
 * flood-votes, silent, then equivocate or double-propose — the seed picks —
 * until the ledger tombstones it, then garbage until its peers ban it) and
 * one honest non-validator (5). After the Byzantine phases, faults on the
 * honest nodes fill the rest of `durationMs`.
 */
export function fullSchedule(seed: number, durationMs: number): Schedule {
  const rng = new Rng(seed);
  const topology: Topology = { validators: 5, nodes: 6, honestValidators: [0, 1, 2, 3], byzantine: [4] };
  // One Byzantine validator can be punished once (tombstoned): the seed picks equivocation or a double proposal.
  const punished: ByzantineMode = rng.next() < 0.5 ? 'equivocate' : 'double-propose';
  // A Byzantine node during a loss phase: the seed picks
  // the vote flood or the garbage, and the lossy honest validator.
  const lossy: ByzantineMode = rng.next() < 0.5 ? 'flood-votes' : 'garbage';
  // (Not a bandwidth limit as well: with the link filled, the garbage requests to the limited node
  // timed out before they reached it, and its first penalty came from gossipsub's stream garbage.)
  const withLoss: Fault[] = [{ kind: 'loss', node: rng.int(0, 3), probability: rng.int(5, 15) / 100 }];
  const byzantine = (mode: ByzantineMode, durationMs: number): Phase => ({
    fault: { kind: 'byzantine', node: 4, mode },
    ...(mode === lossy ? { with: withLoss } : {}),
    durationMs,
  });
  const phases: Phase[] = [
    byzantine('flood-votes', 12_000),
    byzantine('silent', 12_000),
    byzantine(punished, 90_000),
    byzantine('garbage', 60_000),
  ];
  // What is left after the Byzantine phases' typical length (about 20 s each, with their checks).
  let budget = durationMs - 90_000;
  const honest = [0, 1, 2, 3];
  const all = [...honest, 5];
  // The partitions and a kill storm first (the issue's list), then the other faults in a seeded order,
  // repeated while time is left.
  type Kind = Fault['kind'] | 'partition-2-2';
  const first: Kind[] = ['partition', 'partition-2-2', 'isolate-proposer', 'storm'];
  const rest: Kind[] = rng.shuffle<Kind>([
    'kill',
    'latency',
    'pause',
    'clock-skew',
    'wal-truncate',
    'loss',
    'bandwidth',
    'restart',
  ]);
  const kinds: Kind[] = [...first, ...rest];
  let last = -1;
  const victim = (pool: readonly number[]): number => {
    const v = rng.pick(pool.filter((i) => i !== last));
    last = v;
    return v;
  };
  for (let k = 0; budget > 15_000; k++) {
    const kind = kinds[k % kinds.length] as Kind;
    let fault: Fault;
    const hold = rng.int(8000, 15_000);
    switch (kind) {
      case 'partition-2-2': {
        // Combined: the 2–2 partition, a SIGKILL on the side without the non-validator, latency
        // on the non-validator (restarted behind the delay proxies) and a bandwidth limit, at once.
        const s = rng.shuffle(honest);
        fault = {
          kind: 'partition',
          shape: '2-2',
          a: [s[0] as number, s[1] as number, 5],
          b: [s[2] as number, s[3] as number],
        };
        const killed = rng.pick([s[2] as number, s[3] as number]);
        const combined: Fault[] = [
          { kind: 'kill', node: killed, afterMs: rng.int(0, 3000), downMs: rng.int(3000, 8000) },
          latencyOf(rng, 5),
          // And a bandwidth limit on a validator of the non-validator's side.
          { kind: 'bandwidth', node: s[0] as number, kbit: rng.int(256, 1024) },
        ];
        const hold = rng.int(15_000, 20_000);
        phases.push({ fault, with: combined, durationMs: hold });
        budget -= hold + 20_000;
        continue;
      }
      case 'partition': {
        const i = victim(honest);
        fault = { kind, shape: '1-3', a: [i], b: all.filter((j) => j !== i) };
        break;
      }
      case 'isolate-proposer':
        fault = { kind };
        break;
      case 'kill':
        fault = { kind, node: victim(all), afterMs: rng.int(0, 4000), downMs: rng.int(3000, 12_000) };
        break;
      case 'storm': {
        const nodes = Array.from({ length: rng.int(3, 5) }, () => rng.pick(all));
        fault = { kind, nodes, gapMs: rng.int(500, 3000), downMs: rng.int(1000, 4000) };
        break;
      }
      case 'latency':
        fault = latencyOf(rng, victim(all));
        break;
      case 'loss':
        fault = { kind, node: victim(all), probability: rng.int(5, 30) / 100 };
        break;
      case 'bandwidth':
        fault = { kind, node: victim(all), kbit: rng.int(256, 2048) };
        break;
      case 'pause':
        fault = { kind, node: victim(all), pauseMs: rng.int(3000, 12_000) };
        break;
      case 'restart':
        fault = { kind, node: victim(all) };
        break;
      case 'clock-skew': {
        const sign = rng.next() < 0.5 ? -1 : 1;
        fault = { kind, node: victim(honest), skewMs: sign * rng.int(500, 4000) };
        break;
      }
      case 'wal-truncate':
        fault = { kind, node: victim(honest), bytes: rng.int(1, 300) };
        break;
      default:
        throw new Error(`unknown fault ${kind}`);
    }
    phases.push({ fault, durationMs: hold });
    budget -= hold + 10_000;
  }
  return { seed, topology, phases };
}

/**
 * Latency on `node`: 50–300 ms each way, jitter at most half of it (so every
 * round trip through the proxies takes at least the one-way delay: what the
 * run's operability check expects of the node's round trips).
 */
function latencyOf(rng: Rng, node: number): Fault {
  const delayMs = rng.int(50, 300);
  return { kind: 'latency', node, delayMs, jitterMs: rng.int(10, Math.floor(delayMs / 2)) };
}

/** One line per phase, for the start of the run and its end. */
export function describeFault(f: Fault): string {
  switch (f.kind) {
    case 'partition':
      return `partition ${f.shape}: {${f.a.map((i) => `node${i}`).join(',')}} | {${f.b.map((i) => `node${i}`).join(',')}}`;
    case 'isolate-proposer':
      return 'partition: isolate the proposer of the next height';
    case 'latency':
      return `latency node${f.node}: ${f.delayMs} ms ± ${f.jitterMs} ms each way (delay proxies)`;
    case 'loss':
      return `loss node${f.node}: ${Math.round(f.probability * 100)}% of packets to and from its peers`;
    case 'bandwidth':
      return `bandwidth node${f.node}: ${f.kbit} kbit/s out (tbf)`;
    case 'kill':
      return `SIGKILL node${f.node} after ${f.afterMs} ms, restarted from disk ${f.downMs} ms later`;
    case 'storm':
      return `kill storm: SIGKILL ${f.nodes.map((i) => `node${i}`).join(', ')} one after another (${f.gapMs} ms apart, each back after ${f.downMs} ms)`;
    case 'pause':
      return `SIGSTOP node${f.node} for ${f.pauseMs} ms, then SIGCONT`;
    case 'restart':
      return `restart node${f.node} (SIGTERM, start from disk)`;
    case 'clock-skew':
      return `clock skew node${f.node}: ${f.skewMs > 0 ? '+' : ''}${f.skewMs} ms (restarted with --unsafe-clock-skew-ms)`;
    case 'wal-truncate':
      return `SIGKILL node${f.node}, cut ${f.bytes} bytes off its WAL's tail, restart`;
    case 'byzantine':
      return `Byzantine node${f.node}: --unsafe-byzantine ${f.mode}`;
  }
}

function nonValidators(t: Topology): string {
  const names = Array.from({ length: t.nodes - t.validators }, (_, k) => `node${t.validators + k}`);
  return names.length === 0 ? '' : `, non-validator${names.length > 1 ? 's' : ''} ${names.join(', ')}`;
}

/** A phase's faults, combined ones joined with ` + `. */
export function describePhase(p: Phase): string {
  return faultsOf(p).map(describeFault).join(' + ');
}

export function describeSchedule(s: Schedule): string[] {
  return [
    `seed ${s.seed}: ${s.topology.nodes} nodes (validators node0–node${s.topology.validators - 1}${nonValidators(s.topology)}; Byzantine: ${s.topology.byzantine.map((i) => `node${i}`).join(', ')})`,
    ...s.phases.map(
      (p, i) =>
        `  phase ${i + 1}${p.with === undefined ? '' : ' (combined)'}: ${describePhase(p)} — ${Math.round(p.durationMs / 1000)} s${p.fault.kind === 'byzantine' && !['silent', 'flood-votes'].includes(p.fault.mode) ? ` at most (until ${p.fault.mode === 'garbage' ? 'banned' : 'punished'})` : ''}`,
    ),
  ];
}
