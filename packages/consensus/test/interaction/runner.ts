/**
 * The interaction-script runner: the contract is ../shared/docs/interaction-scripts.md.
 * `renderScript(text)` returns exactly what the `interact` command prints.
 */
import { DEFAULT_CONSENSUS_PARAMS } from '@synod/types';
import {
  advanceValidatorSet,
  ConsensusCore,
  type CoreEffect,
  type CoreInput,
  newValidatorSetPriorities,
  type PriorityValidator,
  type RoundStep,
  type TimeoutParams,
  type ValueId,
  type VoteType,
} from '../../src/index.js';

/** The signed payload of a scripted message: who sent it and the line that carried it. */
interface ScriptPayload {
  readonly from: number;
  readonly line: string;
}

const TIMEOUTS: TimeoutParams = { ...DEFAULT_CONSENSUS_PARAMS.timeouts, commitMs: 0 };

class ScriptError extends Error {}

function fail(message: string): never {
  throw new ScriptError(message);
}

/** Address of validator i: 20 bytes, big-endian i (so numbering = address order). */
function addressOf(i: number): Uint8Array {
  const a = new Uint8Array(20);
  let x = i;
  for (let k = 19; k >= 0 && x > 0; k--) {
    a[k] = x & 0xff;
    x = Math.floor(x / 256);
  }
  return a;
}

/** A deterministic 32-byte fake block hash (hex) for value `name` at `height`. */
function fakeHash(height: number, name: string): string {
  const text = `${height}/${name}`;
  let out = '';
  for (let word = 0; word < 8; word++) {
    let h = 0x811c9dc5 ^ word;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    out += h.toString(16).padStart(8, '0');
  }
  return out;
}

interface Args {
  readonly positional: string[];
  readonly named: Map<string, string>;
}

function parseArgs(tokens: readonly string[]): Args {
  const positional: string[] = [];
  const named = new Map<string, string>();
  for (const t of tokens) {
    const eq = t.indexOf('=');
    if (eq > 0) {
      const key = t.slice(0, eq);
      if (named.has(key)) fail(`duplicate argument ${key}`);
      named.set(key, t.slice(eq + 1));
    } else positional.push(t);
  }
  return { positional, named };
}

function int(s: string | undefined, what: string, min = 0): number {
  if (s === undefined) fail(`missing ${what}=`);
  if (!/^-?\d+$/.test(s)) fail(`${what} must be an integer, got ${JSON.stringify(s)}`);
  const n = Number(s);
  if (n < min) fail(`${what} must be at least ${min}`);
  return n;
}

function checkKnown(args: Args, allowed: readonly string[], positional = 0): void {
  for (const k of args.named.keys()) if (!allowed.includes(k)) fail(`unknown argument ${k}=`);
  if (args.positional.length !== positional) fail(`expected ${positional} positional argument(s)`);
}

function validFlag(s: string | undefined): boolean {
  if (s === undefined || s === 'true') return true;
  if (s === 'false') return false;
  return fail('valid must be true or false');
}

const VALUE_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

class Script {
  private readonly out: string[] = [];
  /** Paper lines run while rendering. */
  readonly lines = new Set<number>();
  private core: ConsensusCore<ScriptPayload> | undefined;
  private n = 0;
  private self = -1;
  private genesis: PriorityValidator[] = [];
  private set: PriorityValidator[] = [];
  private height = 0;
  private readonly names = new Map<ValueId, string>();
  private pendingValue: { height: number; round: number } | undefined;

  render(text: string): string {
    const rows = text.split('\n');
    if (rows.length > 0 && rows[rows.length - 1] === '') rows.pop();
    for (const row of rows) {
      if (row.startsWith('> ')) continue;
      this.out.push(row);
      const trimmed = row.trim();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      try {
        this.command(trimmed);
      } catch (e) {
        if (!(e instanceof ScriptError) && !(e instanceof RangeError)) throw e;
        this.print(`error: ${e.message}`);
      }
    }
    return this.out.map((l) => `${l}\n`).join('');
  }

  private print(line: string): void {
    this.out.push(`> ${line}`);
  }

  private requireCore(): ConsensusCore<ScriptPayload> {
    return this.core ?? fail('no init yet');
  }

  private valueId(name: string, height: number): ValueId {
    if (!VALUE_NAME.test(name) || name === 'nil') fail(`bad value name ${JSON.stringify(name)}`);
    const id = fakeHash(height, name);
    this.names.set(id, name);
    return id;
  }

  private valueName(id: ValueId | null): string {
    if (id === null) return 'nil';
    return this.names.get(id) ?? id;
  }

  private validator(s: string | undefined): number {
    const i = int(s, 'from');
    if (i >= this.n) fail(`from=${i} is not a validator (n=${this.n})`);
    return i;
  }

  private command(line: string): void {
    const [cmd = '', ...rest] = line.split(/\s+/);
    const args = parseArgs(rest);
    switch (cmd) {
      case 'init':
        this.init(args);
        return;
      case 'proposal':
        this.proposal(args, line);
        return;
      case 'block':
        this.block(args);
        return;
      case 'prevote':
      case 'precommit':
        this.vote(cmd, args, line);
        return;
      case 'timeout':
        this.timeout(args);
        return;
      case 'value':
        this.value(args);
        return;
      case 'state':
        checkKnown(args, []);
        this.state();
        return;
      case 'proposer':
        this.proposer(args);
        return;
      default:
        fail(`unknown command ${JSON.stringify(cmd)}`);
    }
  }

  private init(args: Args): void {
    checkKnown(args, ['n', 'powers', 'self', 'height', 'round']);
    const n = int(args.named.get('n'), 'n', 1);
    const powersArg = args.named.get('powers');
    const powers =
      powersArg === undefined
        ? new Array<number>(n).fill(10)
        : powersArg.split(',').map((p) => int(p, 'power', 1));
    if (powers.length !== n) fail(`powers must list ${n} values`);
    const selfArg = args.named.get('self') ?? '0';
    const self = selfArg === 'none' ? -1 : int(selfArg, 'self');
    if (self >= n) fail(`self=${self} is not a validator (n=${n})`);
    const height = int(args.named.get('height') ?? '1', 'height', 1);
    const round = int(args.named.get('round') ?? '0', 'round');
    this.n = n;
    this.self = self;
    this.genesis = newValidatorSetPriorities(
      powers.map((votingPower, i) => ({ address: addressOf(i), votingPower, proposerPriority: 0n })),
    );
    this.set = this.genesis;
    for (let h = 1; h < height; h++) this.set = advanceValidatorSet(this.set);
    this.height = height;
    this.pendingValue = undefined;
    this.core = new ConsensusCore<ScriptPayload>({
      selfAddress: self < 0 ? null : addressOf(self),
      timeouts: TIMEOUTS,
      trace: (l) => this.lines.add(l),
    });
    this.apply({ kind: 'start-height', height, validatorSet: { validators: this.set }, round });
  }

  private heightArg(args: Args): number {
    const h = args.named.get('h');
    return h === undefined ? this.height : int(h, 'h', 1);
  }

  private proposal(args: Args, line: string): void {
    checkKnown(args, ['r', 'from', 'value', 'pol', 'valid', 'h']);
    this.requireCore();
    const height = this.heightArg(args);
    const from = this.validator(args.named.get('from'));
    this.apply({
      kind: 'proposal',
      height,
      round: int(args.named.get('r'), 'r'),
      polRound: int(args.named.get('pol') ?? '-1', 'pol', -1),
      valueId: this.valueId(args.named.get('value') ?? fail('missing value='), height),
      proposer: from,
      signed: { from, line },
      valid: validFlag(args.named.get('valid')),
    });
  }

  private block(args: Args): void {
    checkKnown(args, ['value', 'valid', 'h']);
    this.requireCore();
    const height = this.heightArg(args);
    this.apply({
      kind: 'block',
      height,
      valueId: this.valueId(args.named.get('value') ?? fail('missing value='), height),
      valid: validFlag(args.named.get('valid')),
    });
  }

  private vote(type: VoteType, args: Args, line: string): void {
    checkKnown(args, ['r', 'from', 'value', 'h']);
    this.requireCore();
    const height = this.heightArg(args);
    const from = this.validator(args.named.get('from'));
    const value = args.named.get('value') ?? fail('missing value=');
    this.apply({
      kind: 'vote',
      type,
      height,
      round: int(args.named.get('r'), 'r'),
      valueId: value === 'nil' ? null : this.valueId(value, height),
      validator: from,
      signed: { from, line },
    });
  }

  private timeout(args: Args): void {
    checkKnown(args, ['r', 'h'], 1);
    this.requireCore();
    const step = args.positional[0] as string;
    if (step !== 'propose' && step !== 'prevote' && step !== 'precommit') fail(`unknown timeout ${step}`);
    this.apply({
      kind: 'timeout',
      step: step as RoundStep,
      height: this.heightArg(args),
      round: int(args.named.get('r'), 'r'),
    });
  }

  private value(args: Args): void {
    checkKnown(args, [], 1);
    const core = this.requireCore();
    const st = core.state();
    const at = this.pendingValue ?? { height: this.height, round: st?.round ?? 0 };
    this.apply({
      kind: 'value',
      height: at.height,
      round: at.round,
      valueId: this.valueId(args.positional[0] as string, at.height),
    });
  }

  private state(): void {
    const st = this.requireCore().state() ?? fail('no height started');
    const lv = (v: ValueId | null, r: number): string => (v === null ? 'nil' : `${this.valueName(v)}@${r}`);
    this.print(
      `state h=${st.height} r=${st.round} step=${st.step} locked=${lv(st.lockedValue, st.lockedRound)} valid=${lv(st.validValue, st.validRound)}`,
    );
  }

  private proposer(args: Args): void {
    checkKnown(args, ['h', 'r']);
    this.requireCore();
    const h = this.heightArg(args);
    const r = int(args.named.get('r') ?? '0', 'r');
    let set = this.genesis;
    for (let i = 1; i < h; i++) set = advanceValidatorSet(set);
    const index = new ConsensusCore<ScriptPayload>({ selfAddress: null, timeouts: TIMEOUTS });
    index.step({ kind: 'start-height', height: h, validatorSet: { validators: set } });
    this.print(`proposer h=${h} r=${r} index=${index.proposer(r)}`);
  }

  private apply(input: CoreInput<ScriptPayload>): void {
    const core = this.requireCore();
    for (const e of core.step(input)) this.effect(e);
  }

  private effect(e: CoreEffect<ScriptPayload>): void {
    switch (e.kind) {
      // Our own messages are delivered to ourselves at once (the engine does so after signing).
      case 'broadcast-proposal':
        this.print(
          `broadcast proposal h=${e.height} r=${e.round} value=${this.valueName(e.valueId)} pol=${e.polRound}`,
        );
        this.apply({
          kind: 'proposal',
          height: e.height,
          round: e.round,
          polRound: e.polRound,
          valueId: e.valueId,
          proposer: this.self,
          signed: { from: this.self, line: 'own proposal' },
        });
        return;
      case 'broadcast-vote':
        this.print(`broadcast ${e.type} h=${e.height} r=${e.round} value=${this.valueName(e.valueId)}`);
        this.apply({
          kind: 'vote',
          type: e.type,
          height: e.height,
          round: e.round,
          valueId: e.valueId,
          validator: this.self,
          signed: { from: this.self, line: `own ${e.type}` },
        });
        return;
      case 'schedule-timeout':
        this.print(`schedule-timeout ${e.step} h=${e.height} r=${e.round}`);
        return;
      case 'request-value':
        this.pendingValue = { height: e.height, round: e.round };
        this.print(`request-value h=${e.height} r=${e.round}`);
        return;
      case 'request-block':
        this.print(`request-block value=${this.valueName(e.valueId)}`);
        return;
      case 'duplicate-vote':
        this.print(`evidence duplicate-vote h=${e.height} r=${e.round} type=${e.type} from=${e.validator}`);
        return;
      case 'double-proposal':
        this.print(`evidence double-proposal h=${e.height} r=${e.round} from=${e.validator}`);
        return;
      case 'decide': {
        this.print(`decide h=${e.height} r=${e.round} value=${this.valueName(e.valueId)}`);
        // The node commits and starts the next height at once (timeout_commit = 0).
        this.set = advanceValidatorSet(this.set);
        this.height = e.height + 1;
        this.pendingValue = undefined;
        this.apply({ kind: 'start-height', height: this.height, validatorSet: { validators: this.set } });
        return;
      }
    }
  }
}

export interface RenderResult {
  readonly output: string;
  /** The paper's lines (11–67) that ran. */
  readonly lines: ReadonlySet<number>;
}

export function renderScript(text: string): RenderResult {
  const s = new Script();
  const output = s.render(text);
  return { output, lines: s.lines };
}
