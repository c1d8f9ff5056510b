/**
 * The checks of a chaos run: one line per check as it is made (after each
 * phase), and at the end one line per property of the issue (safety,
 * liveness, accountability, operability), passed when every check of it
 * passed.
 */

export const PROPERTIES = [
  'safety: every node has the same block at every height',
  'safety: no honest validator signed two messages for one (height, round, step) (WAL, signer state)',
  'safety: no committed transaction or block lost across restarts',
  'liveness: a side with more than 2/3 of the power kept committing',
  'liveness: a side without 2/3 of the power never committed',
  'liveness: after healing every node reached the same tip within the bound',
  'liveness: every valid submitted transaction was committed',
  'accountability: each Byzantine validator committed as evidence and punished by the ledger rules',
  'accountability: each garbage-sending peer banned by its honest peers',
  'accountability: no honest validator punished',
  'operability: metrics and logs show each fault',
] as const;

export type Property = (typeof PROPERTIES)[number];

interface Result {
  readonly property: Property;
  readonly ok: boolean;
  readonly detail: string;
}

export class Checks {
  readonly #results: Result[] = [];
  readonly #out: (line: string) => void;

  constructor(out: (line: string) => void) {
    this.#out = out;
  }

  /** Records one check and prints its line. */
  check(property: Property, ok: boolean, detail: string): boolean {
    this.#results.push({ property, ok, detail });
    this.#out(`    ${ok ? 'ok  ' : 'FAIL'} ${property.split(':')[0]}: ${detail}`);
    return ok;
  }

  get failures(): number {
    return this.#results.filter((r) => !r.ok).length;
  }

  /** One line per property: passed (how many checks), failed (the first failure), or not exercised. */
  summary(): { lines: string[]; passed: number; failed: number; notRun: Property[] } {
    const lines: string[] = [];
    let passed = 0;
    let failed = 0;
    const notRun: Property[] = [];
    for (const p of PROPERTIES) {
      const rs = this.#results.filter((r) => r.property === p);
      if (rs.length === 0) {
        notRun.push(p);
        continue;
      }
      const bad = rs.filter((r) => !r.ok);
      if (bad.length === 0) {
        passed++;
        lines.push(`PASS ${p} (${rs.length} check${rs.length === 1 ? '' : 's'})`);
      } else {
        failed++;
        lines.push(`FAIL ${p}: ${bad.length} of ${rs.length} failed; first: ${bad[0]?.detail}`);
      }
    }
    return { lines, passed, failed, notRun };
  }
}
