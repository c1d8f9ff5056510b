/**
 * The deliberate bugs `pnpm sim:mutants` applies, one rule of Tendermint's
 * Algorithm 1 (Buchman, Kwon, Milosevic 2018; lines L11–L67) or of the
 * node's defences each. A replacement is exact text of the file (`count`
 * occurrences, default 1): when the source changes under it, the harness
 * refuses to run the mutant instead of running the correct code.
 */
export interface Replacement {
  /** Path from the repository root. */
  readonly file: string;
  readonly from: string;
  readonly to: string;
  readonly count?: number;
}

export interface Mutant {
  readonly id: string;
  /** The rule it breaks. */
  readonly rule: string;
  /** What breaking it costs: safety (target: caught within 100 seeds) or liveness (1,000). */
  readonly kind: 'safety' | 'liveness';
  readonly replace: readonly Replacement[];
}

const CORE = 'packages/consensus/src/round/height-machine.ts';
const KEEPER = 'packages/consensus/src/vote-keeper/vote-keeper.ts';

export const MUTANTS: readonly Mutant[] = [
  {
    id: 'l22-ignore-lock',
    rule: 'L22–L23: prevote a fresh proposal only when unlocked or locked on it',
    kind: 'safety',
    replace: [
      {
        file: CORE,
        from: 'const lockAllows = this.lockedRound === -1 || this.lockedValue === p.valueId;',
        to: 'const lockAllows = true;',
      },
    ],
  },
  {
    id: 'l29-ignore-lock-round',
    rule: 'L28–L29: prevote a re-proposal only when lockedRound ≤ vr or locked on it',
    kind: 'safety',
    replace: [
      {
        file: CORE,
        from: 'if (valid && (this.lockedRound <= p.polRound || this.lockedValue === p.valueId)) {',
        to: 'if (valid) {',
      },
    ],
  },
  {
    id: 'l28-no-pol-quorum',
    rule: 'L28: a re-proposal needs 2f+1 prevotes for it in its POL round',
    kind: 'safety',
    replace: [
      {
        file: CORE,
        from: "    if (!this.keeper.hasQuorumFor(p.polRound, 'prevote', p.valueId)) return false;\n    const valid = this.blocks.get(p.valueId);\n    if (valid === undefined) return false;\n    this.line(28);",
        to: '    const valid = this.blocks.get(p.valueId);\n    if (valid === undefined) return false;\n    this.line(28);',
      },
    ],
  },
  {
    id: 'l36-no-lock',
    rule: 'L36–L43: lock on a polka (L38/L39 never set)',
    kind: 'safety',
    replace: [
      { file: CORE, from: '      this.lockedValue = p.valueId; // L38\n', to: '' },
      { file: CORE, from: '      this.lockedRound = this.round; // L39\n', to: '' },
    ],
  },
  {
    id: 'l44-precommit-value-on-nil-polka',
    rule: 'L44–L45: a polka for nil precommits nil',
    kind: 'safety',
    replace: [
      {
        file: CORE,
        from: "    this.line(45);\n    this.broadcastVote('precommit', null); // L45",
        to: "    this.line(45);\n    this.broadcastVote('precommit', this.proposals.get(this.round)?.valueId ?? null); // L45",
      },
    ],
  },
  {
    id: 'l49-decide-on-polka',
    rule: 'L49: decide on 2f+1 precommits (here: on 2f+1 prevotes too)',
    kind: 'safety',
    replace: [
      {
        file: CORE,
        from: "        if (t.type === 'precommit') this.commitQuorums.push({ round: t.round, valueId: t.valueId });",
        to: '        this.commitQuorums.push({ round: t.round, valueId: t.valueId });',
      },
    ],
  },
  {
    id: 'quorum-half',
    rule: 'the 2f+1 threshold (here: half of the power)',
    kind: 'safety',
    replace: [
      { file: KEEPER, from: 'hasTwoThirdsMajority(', to: 'halfOfThePower(', count: 4 },
      {
        file: KEEPER,
        from: "import { hasMoreThanOneThird, hasTwoThirdsMajority } from '@synod/types';",
        to: "import { hasMoreThanOneThird } from '@synod/types';\nconst halfOfThePower = (p: number | bigint, t: number | bigint): boolean => BigInt(p) * 2n >= BigInt(t);",
      },
    ],
  },
  {
    id: 'skip-any-sender',
    rule: 'L55: skip to a round on f+1 of its messages (here: on one validator’s)',
    kind: 'liveness',
    replace: [
      {
        file: KEEPER,
        from: 'if (!r.skipFired && hasMoreThanOneThird(r.senderPower, this.totalPower)) {',
        to: 'if (!r.skipFired && r.senderPower > 0) {',
      },
    ],
  },
  {
    id: 'skip-two-thirds',
    rule: 'the f+1 threshold of L55 (here: 2f+1)',
    kind: 'liveness',
    replace: [
      {
        file: KEEPER,
        from: 'if (!r.skipFired && hasMoreThanOneThird(r.senderPower, this.totalPower)) {',
        to: 'if (!r.skipFired && hasTwoThirdsMajority(r.senderPower, this.totalPower)) {',
      },
    ],
  },
  {
    id: 'l57-no-prevote-on-timeout',
    rule: 'L57–L60: on timeout of propose, prevote nil',
    kind: 'liveness',
    replace: [{ file: CORE, from: "      this.broadcastVote('prevote', null); // L59\n", to: '' }],
  },
  {
    id: 'l61-no-precommit-on-timeout',
    rule: 'L61–L64: on timeout of prevote, precommit nil',
    kind: 'liveness',
    replace: [{ file: CORE, from: "      this.broadcastVote('precommit', null); // L63\n", to: '' }],
  },
  {
    id: 'l65-no-next-round',
    rule: 'L65–L67: on timeout of precommit, start the next round',
    kind: 'liveness',
    replace: [{ file: CORE, from: '      this.startRound(this.round + 1); // L67\n', to: '' }],
  },
  {
    id: 'proposer-round-ignored',
    rule: 'proposer selection: the proposer of (h, r) (here: of round 0 in every round)',
    kind: 'liveness',
    replace: [
      {
        file: CORE,
        from: '    if (this.schedule.proposer(round) === this.selfIndex) {',
        to: '    if (this.schedule.proposer(0) === this.selfIndex) {',
      },
    ],
  },
  {
    id: 'signer-no-guard',
    rule: "the signer's double-sign guard",
    kind: 'safety',
    replace: [
      {
        file: 'packages/storage/src/signer/validator-signer.ts',
        from: 'const decision = checkSignRequest(this.last, request);',
        to: 'const decision = checkSignRequest(undefined, request);',
      },
    ],
  },
  {
    id: 'wal-no-replay',
    rule: 'WAL replay: a restarted engine replays its height’s inputs',
    kind: 'safety',
    replace: [
      {
        file: 'packages/consensus/src/engine/engine.ts',
        from: '      for (const e of entries) await this.replayEntry(e);',
        to: '      for (const e of entries) void e;',
      },
    ],
  },
  {
    id: 'last-commit-unverified',
    rule: "commit verification: a block's last commit",
    kind: 'safety',
    replace: [
      {
        file: 'packages/node/src/block-executor.ts',
        from: '    return commitProblem(chain.chainId, set, c, {\n      height: h - 1,',
        to: '    if (set !== undefined) return undefined;\n    return commitProblem(chain.chainId, set, c, {\n      height: h - 1,',
      },
    ],
  },
  {
    id: 'sync-commit-unverified',
    rule: 'commit verification: block sync',
    kind: 'safety',
    replace: [
      {
        file: 'packages/node/src/node.ts',
        from: '          : (commitProblem(chain.chainId, set, commit, {',
        to: '          : (((..._args: unknown[]): string | undefined => undefined)(chain.chainId, set, commit, {',
      },
    ],
  },
  {
    id: 'evidence-unverified',
    rule: "evidence verification: a block's evidence",
    kind: 'safety',
    replace: [
      {
        file: 'packages/node/src/block-executor.ts',
        from: '    if (list.length === 0) return undefined;\n    const { chain, evidencePool, storage, verifySignature } = this.#p;',
        to: '    if (list.length >= 0) return undefined;\n    const { chain, evidencePool, storage, verifySignature } = this.#p;',
      },
    ],
  },
];
