/**
 * The live view as text: a pure function of a `View` (model.ts) and a few
 * display options. log-update paints the string in place; tests read it.
 */
import pc from 'picocolors';
import type { NodeRow, NodeState, View } from './model.js';

export interface RenderOptions {
  /** Colours (ANSI); off for tests, pipes and NO_COLOR. */
  readonly color: boolean;
  /** The selected node (its row is marked); none when undefined. */
  readonly selected?: number;
  /** Header facts. */
  readonly title?: string;
  /** The key help line (omitted when undefined: detached `status`). */
  readonly keys?: string;
  /** Time zone offset for clock times: 'utc' or the local one. */
  readonly utc?: boolean;
}

/** Event lines at the bottom of the view. */
export const EVENT_LINES = 3;

export const KEY_HELP =
  '↑/↓ or 0-9 select · k kill (SIGKILL) · s start · r restart (kill + start) · q or Ctrl-C quit (stops every node)';

function clock(ms: number, utc: boolean): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return utc
    ? `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}`
    : `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

const seconds = (ms: number | undefined, digits = 2): string =>
  ms === undefined ? '-' : `${(ms / 1000).toFixed(digits)} s`;

function age(ms: number): string {
  if (ms < 0) return 'now';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s ago`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s ago`;
  return `${Math.round(ms / 60_000)} min ago`;
}

const STATE_TEXT: Readonly<Record<NodeState, string>> = {
  ok: 'ok',
  starting: 'starting',
  syncing: 'syncing',
  lagging: 'lagging',
  stopped: 'stopped',
  unreachable: 'unreachable',
};

export function renderView(view: View, o: RenderOptions): string {
  const c = pc.createColors(o.color);
  const utc = o.utc ?? false;
  const stateColor: Record<NodeState, (s: string) => string> = {
    ok: c.green,
    starting: c.cyan,
    syncing: c.cyan,
    lagging: c.yellow,
    stopped: c.red,
    unreachable: c.red,
  };
  const lines: string[] = [];
  if (o.title !== undefined) lines.push(c.bold(o.title));
  const ch = view.chain;
  const validators = view.nodes.filter((n) => n.role === 'validator');
  const up = view.nodes.filter(
    (n) => n.state === 'ok' || n.state === 'lagging' || n.state === 'syncing',
  ).length;
  const chainState =
    ch.height === 0
      ? c.cyan('waiting for the first block')
      : ch.halted
        ? c.red('HALTED')
        : c.green('producing blocks');
  lines.push(
    `chain: height ${ch.height} · ${chainState}${ch.halted && ch.sinceLastBlockMs !== undefined ? ` (no block for ${seconds(ch.sinceLastBlockMs, 1)})` : ''}`,
  );
  lines.push(
    `last minute: ${ch.intervalMs === undefined ? '-' : seconds(ch.intervalMs)} per block · ${ch.txPerSec === undefined ? '-' : ch.txPerSec.toFixed(1)} tx/s (${ch.blocks} blocks, ${ch.txs} txs over ${Math.round(ch.windowMs / 1000)} s)`,
  );
  const newest = Math.max(0, ...view.nodes.map((n) => n.lastBlockTimeMs ?? 0));
  lines.push(
    `nodes: ${up} of ${view.nodes.length} up${validators.length > 0 ? ` · ${validators.length} validators` : ''}${newest > 0 ? ` · last block ${clock(newest, utc)} (${age(view.now - newest)})` : ''}`,
  );
  lines.push('');
  const head = [
    '',
    'node',
    'role',
    'state',
    'height',
    'round',
    'step',
    'peers',
    'last block',
    'interval',
    'mempool',
  ];
  const rows = view.nodes.map((n, i) => row(n, i === o.selected, utc));
  const widths = head.map((h, j) => Math.max(h.length, ...rows.map((r) => (r[j] as string).length)));
  const right = new Set([4, 5, 7, 9, 10]);
  const fmt = (cells: readonly string[], paint?: (j: number, s: string) => string): string =>
    cells
      .map((s, j) => {
        const w = widths[j] as number;
        const padded = right.has(j) ? s.padStart(w) : s.padEnd(w);
        return paint === undefined ? padded : paint(j, padded);
      })
      .join('  ')
      .trimEnd();
  lines.push(c.bold(fmt(head)));
  for (const [i, r] of rows.entries()) {
    const n = view.nodes[i] as NodeRow;
    lines.push(
      fmt(r, (j, s) => {
        if (j === 3) return stateColor[n.state](s);
        if (j === 0 || j === 1) return i === o.selected ? c.inverse(s) : s;
        return n.state === 'stopped' ? c.dim(s) : s;
      }),
    );
  }
  // A fixed number of lines (the last three events, padded), so the frame's height never changes.
  const events = view.events.slice(-EVENT_LINES);
  lines.push('');
  for (let k = 0; k < EVENT_LINES; k++) {
    const e = events[k];
    lines.push(e === undefined ? '' : c.dim(`${clock(e.t, utc)}  ${e.text}`));
  }
  if (o.keys !== undefined) {
    lines.push('');
    lines.push(c.dim(o.keys));
  }
  return lines.join('\n');
}

function row(n: NodeRow, selected: boolean, utc: boolean): string[] {
  const last = n.lastBlockTimeMs === undefined ? '-' : clock(n.lastBlockTimeMs, utc);
  const state = n.state === 'lagging' ? `lagging -${n.behind}` : STATE_TEXT[n.state];
  return [
    selected ? '>' : ' ',
    n.name,
    n.role,
    state,
    n.height === undefined ? '-' : String(n.height),
    n.round === undefined ? '-' : String(n.round),
    n.step ?? '-',
    n.peers === undefined ? '-' : String(n.peers),
    last,
    seconds(n.intervalMs),
    n.mempool === undefined ? '-' : String(n.mempool),
  ];
}
