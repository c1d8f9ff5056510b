import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Observation, ViewState } from '../../src/localnet/model.js';
import { renderView } from '../../src/localnet/render.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
const BLOCK_MS = 200;

/**
 * A recorded sequence: four validators, blocks every 200 ms with 10 txs each.
 * node0 and node1 stay healthy; node2's process is killed at 3 s; node3 stops
 * advancing at height 12 (its RPC still answers, with fewer peers).
 */
function recording(untilMs: number): Observation[] {
  const out: Observation[] = [];
  const heightAt = (t: number): number => 1 + Math.floor(t / BLOCK_MS);
  let lastBlock = 0;
  for (let t = 0; t <= untilMs; t += 500) {
    const top = heightAt(t);
    for (let h = lastBlock + 1; h <= top; h++)
      out.push({ kind: 'block', height: h, timeMs: T0 + (h - 1) * BLOCK_MS, txs: 10 });
    lastBlock = top;
    for (const node of ['node0', 'node1', 'node2', 'node3']) {
      let h = top;
      if (node === 'node3') h = Math.min(top, 12);
      if (node === 'node2' && t >= 3000) {
        out.push({ kind: 'node', t: T0 + t, node, process: 'exited' });
        continue;
      }
      out.push({
        kind: 'node',
        t: T0 + t,
        node,
        process: 'running',
        rpc: {
          height: h,
          blockTimeMs: T0 + (h - 1) * BLOCK_MS,
          catchingUp: false,
          votingPower: 10,
          round: 0,
          step: node === 'node0' ? 3 : 4,
          peers: node === 'node3' ? 1 : 3,
          mempool: 7,
        },
      });
    }
  }
  out.push({ kind: 'event', t: T0 + 3000, text: 'node2 killed (SIGKILL)' });
  return out;
}

function render(obs: readonly Observation[], now: number, selected?: number): string {
  const state = new ViewState(['node0', 'node1', 'node2', 'node3']);
  for (const o of obs) state.add(o);
  return renderView(state.view(now), {
    color: false,
    utc: true,
    title: 'localnet',
    keys: 'keys',
    ...(selected === undefined ? {} : { selected }),
  });
}

const line = (text: string, node: string): string =>
  text.split('\n').find((l) => l.includes(` ${node} `)) ?? '';

describe('live view', () => {
  const text = render(recording(10_000), T0 + 10_000, 2);

  it('shows a healthy node with its height, round, step, peers, last block time, interval and mempool', () => {
    const l = line(text, 'node0')
      .trim()
      .split(/\s{2,}/);
    // [node, role, state, height, round, step, peers, last block, interval, mempool]
    expect(l).toEqual(['node0', 'validator', 'ok', '51', '0', 'propose', '3', '03:04:15.000', '0.20 s', '7']);
    expect(line(text, 'node1')).toMatch(/node1\s+validator\s+ok\s+51\s+0\s+prevote\s+3/);
  });

  it('shows a stopped node with its last known height and nothing live', () => {
    const l = line(text, 'node2');
    expect(l).toMatch(/^>\s+node2\s+validator\s+stopped\s+13\s+-\s+-\s+-\s+03:04:07\.400\s+0\.20 s\s+-$/);
  });

  it('shows a lagging node with how far behind it is', () => {
    expect(line(text, 'node3')).toMatch(
      /node3\s+validator\s+lagging -39\s+12\s+0\s+prevote\s+1\s+03:04:07\.200/,
    );
  });

  it("gives the chain's height, block interval and tx/s over the window, and the events", () => {
    expect(text).toContain(
      'chain: height 51 · producing blocks\nlast minute: 0.20 s per block · 50.0 tx/s (50 blocks, 500 txs over 10 s)',
    );
    expect(text).toContain('nodes: 3 of 4 up · 4 validators · last block 03:04:15.000 (0.0 s ago)');
    expect(text).toContain('03:04:08.000  node2 killed (SIGKILL)');
  });

  it('a node behind for a moment (samples taken at different times) is not lagging', () => {
    const state = new ViewState(['node0', 'node1']);
    const sample = (t: number, node: string, height: number): Observation => ({
      kind: 'node',
      t: T0 + t,
      node,
      process: 'running',
      rpc: { height, blockTimeMs: T0 + t, catchingUp: false, votingPower: 10 },
    });
    state.add(sample(0, 'node0', 10));
    state.add(sample(0, 'node1', 10));
    state.add(sample(500, 'node0', 13));
    state.add(sample(600, 'node1', 10));
    const now = renderView(state.view(T0 + 700), { color: false });
    expect(line(now, 'node1')).toMatch(/node1\s+validator\s+ok\s+10/);
    state.add(sample(2500, 'node0', 20));
    state.add(sample(2600, 'node1', 11));
    expect(line(renderView(state.view(T0 + 2700), { color: false }), 'node1')).toMatch(/lagging -9/);
  });

  it('counts the last minute once the chain is older than that', () => {
    const state = new ViewState(['node0']);
    for (let h = 1; h <= 100; h++) state.add({ kind: 'block', height: h, timeMs: T0 + h * 1000, txs: 6 });
    const text = renderView(state.view(T0 + 100_000), { color: false });
    expect(text).toContain('last minute: 1.00 s per block · 6.0 tx/s (60 blocks, 360 txs over 60 s)');
  });

  it('says the chain halted when no new height came for 5 s', () => {
    // the same recording, looked at 6 s after its last sample
    const later = render(recording(10_000), T0 + 16_000);
    expect(later).toContain('HALTED (no block for 6.0 s)');
    expect(line(later, 'node0')).toContain(' ok ');
  });

  it('a node whose RPC never answered is starting, then unreachable after the grace period', () => {
    const obs: Observation[] = [{ kind: 'node', t: T0, node: 'node0', process: 'running' }];
    expect(line(render(obs, T0 + 1000), 'node0')).toMatch(/node0\s+\?\s+starting/);
    expect(line(render(obs, T0 + 30_000), 'node0')).toMatch(/node0\s+\?\s+unreachable/);
    expect(line(render([], T0), 'node1')).toMatch(/node1\s+\?\s+stopped/);
  });

  it('colours only when asked', () => {
    const state = new ViewState(['node0']);
    for (const o of recording(1000)) state.add(o);
    expect(renderView(state.view(T0 + 1000), { color: false })).not.toContain('\u001b[');
    expect(renderView(state.view(T0 + 1000), { color: true })).toContain('\u001b[32m');
  });
});

describe('live view of a recorded localnet run', () => {
  // Recorded with `synod localnet --record` (4 validators): node2 SIGKILLed, then node3 (the chain halts),
  // then both started again (they block-sync, then the chain goes on).
  const recorded = readFileSync(new URL('../fixtures/localnet-kill-restart.jsonl', import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Observation);
  const eventTime = (text: string): number =>
    (recorded.find((o) => o.kind === 'event' && o.text === text) as { t: number }).t;
  const until = (t: number): string => {
    const state = new ViewState(['node0', 'node1', 'node2', 'node3']);
    for (const o of recorded) if (o.kind === 'block' || o.t <= t) state.add(o);
    return renderView(state.view(t), { color: false, utc: true });
  };

  it('one node killed: it is stopped at its last height, the chain goes on', () => {
    const text = until(eventTime('node2 killed (SIGKILL)') + 5000);
    expect(line(text, 'node2')).toMatch(/node2\s+validator\s+stopped\s+32\s+-\s+-\s+-/);
    for (const n of ['node0', 'node1', 'node3'])
      expect(line(text, n)).toMatch(new RegExp(`${n}\\s+validator\\s+ok\\s+4\\d\\s`));
    expect(text).toContain('producing blocks');
    expect(text).toContain('nodes: 3 of 4 up');
  });

  it('two of four killed: the chain halts', () => {
    const text = until(eventTime('node3 killed (SIGKILL)') + 8000);
    expect(line(text, 'node3')).toMatch(/node3\s+validator\s+stopped\s+43/);
    expect(text).toMatch(/HALTED \(no block for \d+\.\d s\)/);
    expect(text).toContain('nodes: 2 of 4 up');
  });

  it('both started again: they catch up and the chain resumes', () => {
    const last = recorded.filter((o) => o.kind === 'node').at(-1) as { t: number };
    const text = until(last.t);
    for (const n of ['node0', 'node1', 'node2', 'node3'])
      expect(line(text, n)).toMatch(new RegExp(`${n}\\s+validator\\s+ok\\s+6\\d\\s`));
    expect(text).toContain('producing blocks');
    expect(text).toContain('nodes: 4 of 4 up');
  });
});
