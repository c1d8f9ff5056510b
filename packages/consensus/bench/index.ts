/**
 * `pnpm bench`: votes per second through the vote keeper and through the pure
 * core (no signature checks), for 4, 10 and 100 validators; then the cost per
 * vote of one equivocator's flood of distinct conflicting votes, and the heap
 * one validator's future-round flood holds.
 */

import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DEFAULT_CONSENSUS_PARAMS } from '@synod/types';
import {
  ConsensusCore,
  type CoreInput,
  newValidatorSetPriorities,
  ROUND_LOOKAHEAD_MAX,
  type TimeoutParams,
  VoteKeeper,
  type WeightedValidatorSet,
} from '../src/index.js';

const TIMEOUTS: TimeoutParams = DEFAULT_CONSENSUS_PARAMS.timeouts;
const BUDGET_MS = 600;

function addr(i: number): Uint8Array {
  const a = new Uint8Array(20);
  a[18] = i >> 8;
  a[19] = i & 0xff;
  return a;
}

function validatorSet(n: number): WeightedValidatorSet {
  return {
    validators: newValidatorSetPriorities(
      Array.from({ length: n }, (_, i) => ({
        address: addr(i),
        votingPower: 10 + (i % 7),
        proposerPriority: 0n,
      })),
    ),
  };
}

/** Runs `batch` (which returns how many votes it processed) until the budget is spent; returns votes/s. */
function measure(batch: () => number): number {
  for (let i = 0; i < 20; i++) batch(); // warm-up
  let votes = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < BUDGET_MS) {
    votes += batch();
    elapsed = performance.now() - start;
  }
  return (votes / elapsed) * 1000;
}

/** One height's votes into a fresh keeper: every validator prevotes and precommits in round 0. */
function keeperBatch(n: number): () => number {
  const powers = validatorSet(n).validators.map((v) => v.votingPower);
  const signed = { sig: 1 };
  return () => {
    const k = new VoteKeeper<typeof signed>(powers);
    for (let i = 0; i < n; i++) k.addVote('prevote', 0, i, 'A', signed);
    for (let i = 0; i < n; i++) k.addVote('precommit', 0, i, 'A', signed);
    return 2 * n;
  };
}

/**
 * One whole height through the core, as a validator: start-height, the
 * proposal, every other validator's prevote and precommit (decision included),
 * our own messages delivered back as the engine does.
 */
function coreBatch(n: number): () => number {
  const set = validatorSet(n);
  const self = n - 1;
  const c = new ConsensusCore<{ sig: number }>({ selfAddress: addr(self), timeouts: TIMEOUTS });
  let height = 0;
  const signed = { sig: 1 };
  const step = (input: CoreInput<typeof signed>): void => {
    for (const e of c.step(input)) {
      if (e.kind === 'broadcast-vote') {
        const { type, height: h, round, valueId } = e;
        step({ kind: 'vote', type, height: h, round, valueId, validator: self, signed });
      } else if (e.kind === 'broadcast-proposal') {
        const { height: h, round, polRound, valueId } = e;
        step({ kind: 'proposal', height: h, round, polRound, valueId, proposer: self, signed });
      }
    }
  };
  return () => {
    height++;
    step({ kind: 'start-height', height, validatorSet: set });
    const proposer = c.proposer(0);
    const value = `v${height}`;
    if (proposer === self) step({ kind: 'value', height, round: 0, valueId: value });
    else
      step({
        kind: 'proposal',
        height,
        round: 0,
        polRound: -1,
        valueId: value,
        proposer,
        signed,
        valid: true,
      });
    let votes = 0;
    for (const type of ['prevote', 'precommit'] as const) {
      for (let i = 0; i < n; i++) {
        if (i === self) continue;
        step({ kind: 'vote', type, height, round: 0, valueId: value, validator: i, signed });
        votes++;
      }
    }
    if (c.state()?.decision !== value) throw new Error('bench: no decision');
    return votes;
  };
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US').padStart(12);

console.log('@synod/consensus — votes per second (no signature checks)');
for (const n of [4, 10, 100]) {
  console.log(`  vote keeper  n=${String(n).padEnd(3)} ${fmt(measure(keeperBatch(n)))} votes/s`);
  console.log(`  core         n=${String(n).padEnd(3)} ${fmt(measure(coreBatch(n)))} votes/s`);
}

/**
 * One validator of 100 sends `k` distinct conflicting prevotes in one round
 * (a first vote, then k − 1 votes for values nobody else voted for), into a
 * fresh keeper. Returns the mean cost per vote in µs over `repeat` runs.
 */
function equivocationFlood(k: number, repeat: number): { usPerVote: number; held: number } {
  const powers = validatorSet(100).validators.map((v) => v.votingPower);
  const ids = Array.from({ length: k }, (_, i) => `value-${i}`);
  const signed = { sig: 1 };
  let best = Number.POSITIVE_INFINITY;
  let held = 0;
  for (let run = 0; run < repeat; run++) {
    const keeper = new VoteKeeper<typeof signed>(powers);
    const start = performance.now();
    for (const id of ids) keeper.addVote('prevote', 0, 7, id, signed);
    best = Math.min(best, performance.now() - start);
    held = keeper.votesHeld;
  }
  return { usPerVote: (best * 1000) / k, held };
}

const FLOOD = 20_000;
const flood = equivocationFlood(FLOOD, 3);
console.log(
  `  equivocation flood n=100, ${FLOOD.toLocaleString('en-US')} distinct conflicting prevotes of one validator: ${flood.usPerVote.toFixed(3)} µs/vote, ${flood.held} votes kept`,
);

/** `global.gc`, without node flags (the bench runs under tsx). */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * One validator sends one precommit for each of `rounds` rounds into a core of
 * `n` validators: above the node's round (a core at round 0, rounds 1…10,000,
 * the whole look-ahead window), or below it (a core that started the height at
 * round 10,000, rounds 0…9,999). Returns what the height holds afterwards:
 * heap bytes (after a full GC), per message received, and the core's count.
 */
function roundFlood(
  n: number,
  where: 'future' | 'past',
): { bytes: number; perMessage: number; held: number } {
  const gc = collector();
  const set = validatorSet(n);
  const core = new ConsensusCore<{ sig: number }>({ selfAddress: addr(n - 1), timeouts: TIMEOUTS });
  const start = where === 'future' ? 0 : ROUND_LOOKAHEAD_MAX;
  core.step({ kind: 'start-height', height: 1, validatorSet: set, round: start });
  const signed = { sig: 1 };
  gc();
  const before = process.memoryUsage().heapUsed;
  const rounds = ROUND_LOOKAHEAD_MAX;
  const first = where === 'future' ? 1 : 0;
  for (let round = first; round < first + rounds; round++)
    core.step({ kind: 'vote', type: 'precommit', height: 1, round, valueId: null, validator: 7, signed });
  gc();
  const bytes = process.memoryUsage().heapUsed - before;
  if (core.state()?.round !== start) throw new Error('bench: one validator moved the round');
  const held = core.held();
  return { bytes, perMessage: bytes / rounds, held: where === 'future' ? held.futureMessages : held.votes };
}

for (const where of ['future', 'past'] as const) {
  for (const n of [10, 100]) {
    const f = roundFlood(n, where);
    const range =
      where === 'future'
        ? `1…${ROUND_LOOKAHEAD_MAX}`
        : `0…${ROUND_LOOKAHEAD_MAX - 1} (node at round ${ROUND_LOOKAHEAD_MAX})`;
    console.log(
      `  ${where}-round flood n=${String(n).padEnd(3)} one precommit per round, rounds ${range}, one validator: ${f.held} held, ${(f.bytes / 2 ** 20).toFixed(2)} MiB, ${Math.round(f.perMessage)} B/message`,
    );
  }
}
