/**
 * The attacker of `scripts/hostile-peer.ts`, in a process of its own (its
 * work is not the victim's): runs one attack of `ATTACKS` per command, as
 * fast as the victim's streams take the bytes.
 *
 *     ← run { attack, victimAddress, durationMs, firstIdentity, storedBlockHash }
 *     → done { identities }
 */
import '@synod/polyfills';
import { makeValidators } from '../fixtures.js';
import { epochMs, type IdentityReport } from './attacker.js';
import { ATTACKS } from './attacks.js';
import { Payloads } from './payloads.js';

export interface RunCommand {
  readonly type: 'run';
  readonly attack: string;
  readonly victimAddress: string;
  readonly durationMs: number;
  readonly firstIdentity: number;
  /** Hex. */
  readonly storedBlockHash: string;
}

export interface AttackDone {
  readonly type: 'done';
  readonly identities: IdentityReport[];
  /** When the attack began and its time was up (epochMs). */
  readonly fromMs: number;
  readonly untilMs: number;
}

const payloads = new Payloads(makeValidators(4));
// made once, before any attack's clock starts (100,000 txs to hash)
payloads.hugeProposal();

process.on('message', (cmd: RunCommand) => {
  if (cmd.type !== 'run') return;
  const attack = ATTACKS.find((a) => a.name === cmd.attack);
  if (attack === undefined) {
    process.send?.({ type: 'error', message: `no attack ${cmd.attack}` });
    return;
  }
  const fromMs = epochMs();
  const untilMs = fromMs + cmd.durationMs;
  attack
    .run({
      victimAddress: cmd.victimAddress,
      payloads,
      untilMs,
      storedBlockHash: Uint8Array.from(Buffer.from(cmd.storedBlockHash, 'hex')),
      firstIdentity: cmd.firstIdentity,
      // a new identity each time one is banned, for as long as the attack lasts
      identities: 100_000,
      pace: () => new Promise((r) => setImmediate(r)),
    })
    .then(
      ({ identities }) => {
        const done: AttackDone = { type: 'done', identities: [...identities], fromMs, untilMs };
        process.send?.(done);
      },
      (err: unknown) => process.send?.({ type: 'error', message: String(err) }),
    );
});
process.send?.({ type: 'ready' });
