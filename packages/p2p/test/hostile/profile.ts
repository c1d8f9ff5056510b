/**
 * CPU profiles of the hostile-peer victim (`hostile-peer --profile DIR`): the
 * V8 sampling profiler over the attack's window only (node:inspector, in the
 * victim's process), written as `DIR/<attack>.cpuprofile` (open it in Chrome
 * DevTools), and a summary of where the time went: the top functions by self
 * time, and the self time by package.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

/** The parts of a V8 `.cpuprofile` read here. */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Samples the process's CPU from `start()` until `stop(file)` writes the profile. */
export class CpuProfiler {
  private session: Session | undefined;

  async start(): Promise<void> {
    const s = new Session();
    s.connect();
    await s.post('Profiler.enable');
    await s.post('Profiler.setSamplingInterval', { interval: 500 });
    await s.post('Profiler.start');
    this.session = s;
  }

  /** Stops sampling and writes the profile to `dir/name.cpuprofile`; returns it. */
  async stop(dir: string, name: string): Promise<CpuProfile | undefined> {
    const s = this.session;
    if (s === undefined) return undefined;
    this.session = undefined;
    const { profile } = (await s.post('Profiler.stop')) as { profile: CpuProfile };
    s.disconnect();
    writeFileSync(join(dir, `${name.replace(/[^a-z0-9-]/gi, '_')}.cpuprofile`), JSON.stringify(profile));
    return profile;
  }
}

/** Where a function lives: its npm package, `node:` for Node's own code, `synod` for ours, `(v8)` for the engine. */
export function packageOf(url: string): string {
  if (url === '') return '(v8)';
  if (url.startsWith('node:')) return 'node:';
  const i = url.lastIndexOf('/node_modules/');
  if (i >= 0) {
    const rest = url.slice(i + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? '?');
  }
  const m = /\/packages\/([^/]+)\/(.+)$/.exec(url);
  return m === null ? url : `@synod/${m[1]}`;
}

function shortUrl(url: string): string {
  const i = url.lastIndexOf('/node_modules/');
  if (i >= 0) return url.slice(i + '/node_modules/'.length);
  const m = /\/packages\/(.+)$/.exec(url);
  return m?.[1] ?? url;
}

export interface ProfileSummary {
  /** Sampled ms in which the process was busy (idle excluded). */
  readonly totalMs: number;
  /** Sampled ms idle. */
  readonly idleMs: number;
  /**
   * Top functions by self time: [label, ms]. A native function (no source:
   * a socket write, a cipher, a hash) is labelled with the package that called it.
   */
  readonly functions: [string, number][];
  /**
   * Self time by package: [package, ms]. Native code and Node's own
   * JavaScript are charged to the package that called them, so a socket
   * write counts for the library that wrote.
   */
  readonly packages: [string, number][];
  /** Inclusive time by package (the package anywhere on the stack): [package, ms]. */
  readonly inclusive: [string, number][];
}

/** Self time per function and per package, largest first. */
export function summarise(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // the profiler's own start (Profiler.start, from this module) is not the victim's work
  const profilerStart = new Set<number>();
  for (const n of profile.nodes) {
    if (n.callFrame.url !== 'node:inspector') continue;
    const stack = [n.id];
    while (stack.length > 0) {
      const id = stack.pop() ?? 0;
      profilerStart.add(id);
      stack.push(...(byId.get(id)?.children ?? []));
    }
  }
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    if (profilerStart.has(profile.samples[i] ?? 0)) continue;
    const id = profile.samples[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  /** The package a node is charged to: its own, or for native and node: code its nearest caller's. */
  const chargedTo = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)?.callFrame;
      if (f === undefined) break;
      if (f.url !== '' && !f.url.startsWith('node:')) return packageOf(f.url);
    }
    const f = byId.get(id)?.callFrame;
    return f === undefined ? '?' : f.url === '' ? f.functionName || '(native)' : 'node:';
  };
  const fns = new Map<string, number>();
  const pkgs = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const f = byId.get(id)?.callFrame;
    if (f === undefined) continue;
    if (f.url === '' && f.functionName === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const owner = chargedTo(id);
    const name = f.functionName || '(anonymous)';
    const label =
      f.url === ''
        ? name.startsWith('(')
          ? name
          : `${name} [native, from ${owner}]`
        : `${name} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
    fns.set(label, (fns.get(label) ?? 0) + us);
    pkgs.set(owner, (pkgs.get(owner) ?? 0) + us);
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const g = byId.get(at)?.callFrame;
      if (g !== undefined && g.url !== '' && !g.url.startsWith('node:')) onStack.add(packageOf(g.url));
    }
    for (const p of onStack) incl.set(p, (incl.get(p) ?? 0) + us);
  }
  const ranked = (m: Map<string, number>): [string, number][] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => [k, us / 1000]);
  return {
    totalMs: total / 1000,
    idleMs: idle / 1000,
    functions: ranked(fns),
    packages: ranked(pkgs),
    inclusive: ranked(incl),
  };
}

/** The summary as text lines (share of the sampled time, ms). */
export function formatSummary(name: string, s: ProfileSummary): string {
  const pct = (ms: number): string => `${((100 * ms) / s.totalMs).toFixed(1).padStart(5)} %`;
  return [
    `profile ${name}: ${s.totalMs.toFixed(0)} ms busy, ${s.idleMs.toFixed(0)} ms idle`,
    '  self time by package (native and node: code charged to its caller):',
    ...s.packages.map(([p, ms]) => `    ${pct(ms)}  ${ms.toFixed(0).padStart(6)} ms  ${p}`),
    '  inclusive time by package (on the stack):',
    ...s.inclusive.map(([p, ms]) => `    ${pct(ms)}  ${ms.toFixed(0).padStart(6)} ms  ${p}`),
    '  top functions (self time):',
    ...s.functions.map(([f, ms]) => `    ${pct(ms)}  ${ms.toFixed(0).padStart(6)} ms  ${f}`),
  ].join('\n');
}
