/**
 * What a validator signed, read back from its home: the consensus WAL
 * (own-vote / own-proposal records and the own-signature written after each
 * signature) and the signer state (data/priv_validator_state.json). A copy
 * of the WAL is read (the node may be running), so the live one is never
 * touched.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeWalEntry, type WalEntry } from '@synod/consensus';
import { readKeyFile, toHex, verify } from '@synod/crypto';
import { decodeSignerStateFile, openFileWal } from '@synod/storage';
import { type Proposal, proposalSignBytes, type Vote, voteSignBytes } from '@synod/types';

export interface SignerAudit {
  /** Signed messages found in the WAL (a vote or proposal whose signature verifies). */
  readonly signed: number;
  /** (height/round/step) where two different messages were signed. */
  readonly doubleSigns: string[];
  /** Problems of the signer state against the WAL (a regression, a bad signature). */
  readonly stateProblems: string[];
}

const STEP_ORDER = { proposal: 1, prevote: 2, precommit: 3 } as const;

export async function auditSigner(home: string, chainId: string): Promise<SignerAudit> {
  const key = (await readKeyFile(join(home, 'config/priv_validator_key.json'))).keyPair;
  const copy = await mkdtemp(join(tmpdir(), 'synchaos-wal-'));
  const doubleSigns: string[] = [];
  const stateProblems: string[] = [];
  let signed = 0;
  let top: { height: number; round: number; step: number } = { height: 0, round: 0, step: 0 };
  try {
    await cp(join(home, 'data/wal'), copy, { recursive: true });
    const wal = await openFileWal(copy);
    const records = (await wal.recordsAfterEndHeight(0)) ?? [];
    await wal.close();
    // What was about to be signed at each (h, r, step), in order; a signature record settles which.
    const candidates = new Map<string, Uint8Array[]>();
    const signedAt = new Map<string, Set<string>>();
    for (const r of records) {
      let e: WalEntry;
      try {
        e = decodeWalEntry(r.data);
      } catch {
        continue;
      }
      if (e.kind === 'own-vote') {
        const k = `${e.vote.height}/${e.vote.round}/${e.vote.type}`;
        candidates.set(k, [...(candidates.get(k) ?? []), voteSignBytes(chainId, e.vote as Vote)]);
      } else if (e.kind === 'own-proposal') {
        const k = `${e.proposal.height}/${e.proposal.round}/proposal`;
        candidates.set(k, [...(candidates.get(k) ?? []), proposalSignBytes(chainId, e.proposal as Proposal)]);
      } else if (e.kind === 'own-signature') {
        const k = `${e.height}/${e.round}/${e.step}`;
        for (const bytes of candidates.get(k) ?? [])
          if (verify(key.publicKey, bytes, e.signature)) {
            const set = signedAt.get(k) ?? new Set<string>();
            set.add(toHex(bytes));
            signedAt.set(k, set);
            signed++;
            const hrs = { height: e.height, round: e.round, step: STEP_ORDER[e.step] };
            if (
              hrs.height > top.height ||
              (hrs.height === top.height &&
                (hrs.round > top.round || (hrs.round === top.round && hrs.step > top.step)))
            )
              top = hrs;
          }
      }
    }
    for (const [k, set] of signedAt) if (set.size > 1) doubleSigns.push(k);
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
  const file = decodeSignerStateFile(await readFile(join(home, 'data/priv_validator_state.json')));
  const state = typeof file === 'string' ? file : file.state;
  if (typeof state === 'string') stateProblems.push(`signer state unreadable: ${state}`);
  else if (state.height > 0) {
    if (!verify(key.publicKey, state.signBytes, state.signature))
      stateProblems.push(
        `signer state ${state.height}/${state.round}/${state.step}: its signature does not verify`,
      );
    const s = { height: state.height, round: state.round, step: STEP_ORDER[state.step] };
    if (
      s.height < top.height ||
      (s.height === top.height && (s.round < top.round || (s.round === top.round && s.step < top.step)))
    )
      stateProblems.push(
        `signer state at ${state.height}/${state.round}/${state.step} is below a signature in the WAL (${top.height}/${top.round}/${top.step})`,
      );
  }
  return { signed, doubleSigns, stateProblems };
}
