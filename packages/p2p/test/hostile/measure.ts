/**
 * The hostile-peer measurement (`pnpm --filter @synod/p2p hostile-peer`):
 * for each attack of `ATTACKS` (and once with no attack), a fresh victim in a
 * process of its own, an honest peer voting 20 times a second through it to
 * an observer (both in this process), and the attacker in a third process.
 *
 *     honest voter ──► victim ──► observer        attacker ──► victim
 *
 * Per attack it prints: the share of the honest votes published during the
 * attack that the victim delivered within 1 s, their median and p99 delay;
 * the victim's RSS and JS heap before, at peak and after (after a GC), and
 * its CPU over the attack in cores (one identity attacks at a time, so this
 * is per attacking peer); identities banned, identities that attacked, and
 * identities whose connection the victim refused; time from an identity's first
 * message to its ban; messages validated after a ban; the victim's event loop
 * delay (p99, max). With `--profile DIR`, the victim's CPU profile over
 * each attack (profile.ts). Numbers only: nothing here is asserted.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import { blockHash } from '@synod/types';
import { createNetwork, type Network } from '../../src/index.js';
import { makeChain, makeValidators, RecordingMetrics, testNodeOptions, waitFor } from '../fixtures.js';
import type { AttackDone, RunCommand } from './attacker-process.js';
import { ATTACKS } from './attacks.js';
import { Deliveries, type DeliveryStats, deliveryStats, HonestVoter } from './honest.js';
import type { ResourceFigures } from './probe.js';
import type { VictimCommand, VictimReport } from './victim-process.js';

const vals = makeValidators(4);
/** The victim serves makeChain(vals, 20, 1): the attacker floods requests for its block 5. */
const STORED_BLOCK_HASH = Buffer.from(blockHash(makeChain(vals, 5, 1)[4]?.block ?? fail())).toString('hex');

function fail(): never {
  throw new Error('fixture');
}

export interface PhaseFigures {
  readonly attack: string;
  readonly atVictim: DeliveryStats;
  readonly atObserver: DeliveryStats;
  readonly resources: ResourceFigures;
  readonly identities: number;
  readonly banned: number;
  /** Identities whose connection the victim refused (they sent nothing). */
  readonly refused: number;
  /** The attack's time, ms. */
  readonly durationMs: number;
  readonly timeToBanMs: readonly number[];
  readonly validatedAfterBan: number;
  readonly sentMessages: number;
  readonly sentMb: number;
  readonly victimErrors: readonly string[];
  readonly observerRejects: number;
  readonly forwardedForeign: number;
  readonly queuePeak: { votes: number; proposals: number };
  /** The victim's event loop delay over the attack, ms. */
  readonly loopDelayMs: { p99: number; max: number };
  /** The victim's CPU profile summary over the attack (with `--profile`). */
  readonly profile: string | undefined;
}

/** A child process speaking the IPC protocol of victim-process / attacker-process. */
class Child {
  readonly process: ChildProcess;
  private waiting: { type: string; resolve: (m: unknown) => void; reject: (e: Error) => void }[] = [];

  constructor(file: string) {
    this.process = fork(fileURLToPath(new URL(file, import.meta.url)), [], {
      execArgv: [...process.execArgv, '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.process.on('message', (m: { type: string; message?: string }) => {
      if (m.type === 'error') {
        for (const w of this.waiting.splice(0)) w.reject(new Error(m.message));
        return;
      }
      const i = this.waiting.findIndex((w) => w.type === m.type);
      const [w] = i < 0 ? [] : this.waiting.splice(i, 1);
      w?.resolve(m);
    });
    this.process.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`${file} exited (${code})`));
    });
  }

  next<T>(type: string): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      this.waiting.push({ type, resolve: resolve as (m: unknown) => void, reject }),
    );
  }

  send(msg: unknown): void {
    this.process.send(msg as object);
  }

  /** Waits up to `graceMs` for the process to exit, then kills it. */
  async end(graceMs = 3_000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    await Promise.race([new Promise((r) => this.process.once('exit', r)), sleep(graceMs)]);
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL');
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function runPhase(
  attackName: string | undefined,
  attacker: Child,
  durationMs: number,
  firstIdentity: number,
  profileDir: string | undefined,
): Promise<PhaseFigures> {
  const victim = new Child('./victim-process.ts');
  const nodes: Network[] = [];
  let voter: HonestVoter | undefined;
  try {
    const ready = await victim.next<{ address: string; peerId: string }>('ready');
    const host = ready.address.split('/p2p/')[0] ?? '-';
    const onlyVictim = (address: string): boolean => address.startsWith(host);
    const observerMetrics = new RecordingMetrics();
    const honest = await createNetwork(testNodeOptions(301, vals, { dialFilter: onlyVictim }));
    const observer = await createNetwork(
      testNodeOptions(302, vals, { dialFilter: onlyVictim, metrics: observerMetrics }),
    );
    nodes.push(honest, observer);
    await honest.start();
    await observer.start();
    const atObserver = new Deliveries();
    observer.onVote(({ message }) => atObserver.record(message));
    let otherTopics = 0;
    const other = (): void => {
      otherTopics++;
    };
    observer.onProposal(other);
    observer.onEvidence(other);
    observer.onTx(other);
    await honest.dial(ready.address);
    await observer.dial(ready.address);
    await waitFor(
      () =>
        honest.meshPeers('votes').includes(ready.peerId) &&
        observer.meshPeers('votes').includes(ready.peerId),
      'honest → victim → observer vote mesh',
    );
    voter = new HonestVoter(honest, vals, 20);
    voter.start();
    await sleep(1_000);

    const cmd = (c: VictimCommand): void => victim.send(c);
    cmd({
      type: 'attack-start',
      ...(profileDir === undefined ? {} : { profile: { dir: profileDir, name: attackName ?? 'none' } }),
    });
    const fromMs = performance.timeOrigin + performance.now();
    // the CPU window is the attack's time, even when the attacker stops early
    const window = sleep(durationMs).then(() => cmd({ type: 'attack-end' }));
    let done: AttackDone = { type: 'done', identities: [], fromMs, untilMs: fromMs + durationMs };
    if (attackName !== undefined) {
      const run: RunCommand = {
        type: 'run',
        attack: attackName,
        victimAddress: ready.address,
        durationMs,
        firstIdentity,
        storedBlockHash: STORED_BLOCK_HASH,
      };
      const result = attacker.next<AttackDone>('done');
      attacker.send(run);
      done = await result;
    }
    await window;
    const measured = voter.publishedBetween(fromMs, fromMs + durationMs);
    await sleep(1_000);
    voter.stop();
    // late votes still count (as late): give them time to arrive
    await sleep(2_000);
    const reportP = victim.next<VictimReport>('report');
    cmd({ type: 'report' });
    const report = await reportP;
    const delays = new Map(report.delays);
    const peers = new Map(report.peers);
    const active = done.identities.filter((r) => r.sent > 0);
    const banned = active.filter((r) => peers.get(r.id)?.bannedAtMs !== undefined);
    return {
      attack: attackName ?? '(none)',
      atVictim: deliveryStats(measured, (s) => delays.get(s)),
      atObserver: deliveryStats(measured, (s) => atObserver.delayMs.get(s)),
      resources: report.resources,
      identities: active.length,
      banned: banned.length,
      refused: done.identities.filter((r) => r.refused).length,
      durationMs,
      timeToBanMs: banned.map((r) => (peers.get(r.id)?.bannedAtMs ?? 0) - (r.firstSentAtMs ?? 0)),
      validatedAfterBan: active.reduce((n, r) => n + (peers.get(r.id)?.validatedAfterBan ?? 0), 0),
      sentMessages: active.reduce((n, r) => n + r.sent, 0),
      sentMb: active.reduce((n, r) => n + r.bytes, 0) / (1024 * 1024),
      victimErrors: report.errors,
      observerRejects: observerMetrics.total('synod_p2p_gossip_messages_total', { action: 'reject' }),
      forwardedForeign: atObserver.foreign + otherTopics,
      queuePeak: report.queuePeak,
      loopDelayMs: report.loopDelayMs,
      profile: report.profile,
    };
  } finally {
    voter?.stop();
    await Promise.all(nodes.map((n) => n.stop()));
    await victim.end();
  }
}

const pct = (x: number): string => (Number.isNaN(x) ? '–' : `${Math.round(x * 100)} %`);
const ms = (x: number): string =>
  Number.isFinite(x) ? (x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`) : 'lost';
const mbf = (x: number): string => x.toFixed(0);

/** The figures of one phase as a Markdown table row. */
export function tableRow(f: PhaseFigures): string {
  const r = f.resources;
  const sorted = [...f.timeToBanMs].sort((a, b) => a - b);
  const ttb =
    sorted.length === 0
      ? '–'
      : `${ms(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN)} / ${ms(sorted.at(-1) ?? Number.NaN)}`;
  return `| ${[
    f.attack,
    `${pct(f.atVictim.onTime)} / ${pct(f.atObserver.onTime)}`,
    `${ms(f.atVictim.medianMs)} / ${ms(f.atVictim.p99Ms)}`,
    `${mbf(r.rssBeforeMb)} / ${mbf(r.rssPeakMb)} / ${mbf(r.rssAfterMb)}`,
    `${mbf(r.heapPeakMb)} / ${mbf(r.heapAfterMb)}`,
    r.cpuCores.toFixed(2),
    f.identities === 0 ? '–' : `${Math.round((r.cpuCores * f.durationMs) / f.identities)} ms`,
    f.identities === 0 ? '–' : `${f.banned} / ${f.identities} / ${f.refused}`,
    ttb,
    f.identities === 0 ? '–' : String(f.validatedAfterBan),
    f.identities === 0 ? '–' : `${f.sentMessages} / ${f.sentMb.toFixed(1)} MB`,
  ].join(' | ')} |`;
}

export const TABLE_HEADER = [
  '| attack | honest votes ≤ 1 s (victim / observer) | delay median / p99 | RSS before / peak / after (MB) | heap peak / after (MB) | CPU (cores) | CPU per identity | banned / identities / refused | 1st msg → ban median / max | validated after ban | attacker sent |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
].join('\n');

export async function main(args: readonly string[]): Promise<void> {
  const seconds = Number(args[args.indexOf('--seconds') + 1] ?? 5);
  const durationMs = (args.includes('--seconds') && Number.isFinite(seconds) ? seconds : 5) * 1000;
  const only = args.includes('--only') ? (args[args.indexOf('--only') + 1] ?? '').split(',') : undefined;
  const profileDir = args.includes('--profile') ? args[args.indexOf('--profile') + 1] : undefined;
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const names = [undefined, ...ATTACKS.map((a) => a.name)].filter(
    (n) => only === undefined || only.includes(n ?? 'none'),
  );
  console.log(
    `hostile peer: ${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, ${durationMs / 1000} s per attack`,
  );
  const attacker = new Child('./attacker-process.ts');
  await attacker.next('ready');
  const rows: PhaseFigures[] = [];
  console.log(TABLE_HEADER);
  try {
    let firstIdentity = 0;
    for (const name of names) {
      const f = await runPhase(name, attacker, durationMs, firstIdentity, profileDir);
      firstIdentity += 100_000;
      rows.push(f);
      console.log(tableRow(f));
      if (f.victimErrors.length > 0) console.log(`  victim errors: ${f.victimErrors.join('; ')}`);
      if (f.observerRejects > 0 || f.forwardedForeign > 0)
        console.log(
          `  FORWARDED INVALID: observer rejects ${f.observerRejects}, foreign ${f.forwardedForeign}`,
        );
    }
  } finally {
    await attacker.end(0);
  }
  const attacks = rows.filter((r) => r.attack !== '(none)');
  const idle = rows.find((r) => r.attack === '(none)');
  const growth = (r: PhaseFigures): number => r.resources.rssPeakMb - r.resources.rssBeforeMb;
  console.log('\ntargets (every attack):');
  console.log(
    `  ≥ 90 % of honest votes within 1 s: ${attacks.filter((r) => r.atVictim.onTime >= 0.9).length} / ${attacks.length} attacks`,
  );
  console.log(
    `  RSS growth < 200 MB: ${attacks.filter((r) => growth(r) < 200).length} / ${attacks.length} attacks`,
  );
  console.log(
    `  CPU < 0.5 core per attacking peer: ${attacks.filter((r) => r.resources.cpuCores < 0.5).length} / ${attacks.length} attacks` +
      (idle === undefined ? '' : ` (idle: ${idle.resources.cpuCores.toFixed(2)} cores)`),
  );
  console.log(
    `  queue peaks (votes / proposals): ${rows.map((r) => `${r.attack} ${r.queuePeak.votes}/${r.queuePeak.proposals}`).join(', ')}`,
  );
  console.log(
    `  victim event loop delay p99 / max (ms): ${rows.map((r) => `${r.attack} ${r.loopDelayMs.p99.toFixed(0)}/${r.loopDelayMs.max.toFixed(0)}`).join(', ')}`,
  );
  for (const r of rows) if (r.profile !== undefined) console.log(`\n${r.profile}`);
}
