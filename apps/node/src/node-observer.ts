/**
 * What the daemon makes of the node's events: log lines (with a stable
 * `event` field for security events) and the node-level Prometheus metrics
 * (height, block interval, transactions, validators and their power, the
 * power missing from each commit, missed blocks per validator, peers, block
 * sync progress). The libraries' own metrics (consensus, mempool, evidence,
 * p2p, ledger) come through the Metrics port.
 */
import { toHex } from '@synod/crypto';
import type { SynodNode } from '@synod/node';
import type { NodeStorage } from '@synod/storage';
import type { Application, Evidence, Logger, ValidatorSet } from '@synod/types';
import client from 'prom-client';
import type { PromMetrics } from './metrics.js';

export interface NodeObserver {
  /** Removes every listener and collector. */
  close(): void;
}

function evidenceSummary(ev: Evidence): Record<string, unknown> {
  if (ev.kind === 'duplicate-vote')
    return {
      kind: ev.kind,
      validator: toHex(ev.voteA.vote.validatorAddress),
      height: ev.voteA.vote.height,
      round: ev.voteA.vote.round,
      type: ev.voteA.vote.type,
    };
  return {
    kind: ev.kind,
    validator: toHex(ev.proposalA.proposal.proposerAddress),
    height: ev.proposalA.proposal.height,
    round: ev.proposalA.proposal.round,
  };
}

/** This node's validator key and the application that knows its stake, jail and downtime window. */
export interface SelfValidator {
  readonly address: Uint8Array;
  readonly application: Application;
}

/** The validator an evidence item accuses. */
function accused(ev: Evidence): Uint8Array {
  return ev.kind === 'duplicate-vote'
    ? ev.voteA.vote.validatorAddress
    : ev.proposalA.proposal.proposerAddress;
}

/** Subscribes logs and metrics to `node`'s events. */
export function observeNode(
  node: SynodNode,
  storage: NodeStorage,
  metrics: PromMetrics,
  logger: Logger,
  self?: SelfValidator,
): NodeObserver {
  const log = logger.child({ module: 'daemon' });
  const r = [metrics.registry];
  const height = new client.Gauge({
    name: 'synod_node_height',
    help: 'Last executed block height',
    registers: r,
  });
  const interval = new client.Histogram({
    name: 'synod_node_block_interval_seconds',
    help: 'Time between consecutive blocks (block header times)',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: r,
  });
  const txs = new client.Counter({
    name: 'synod_node_txs_total',
    help: 'Transactions in executed blocks',
    registers: r,
  });
  const validators = new client.Gauge({
    name: 'synod_node_validators',
    help: 'Validators of the last executed height',
    registers: r,
  });
  const power = new client.Gauge({
    name: 'synod_node_validators_power',
    help: 'Total voting power of the last executed height',
    registers: r,
  });
  const missing = new client.Gauge({
    name: 'synod_node_missing_validators',
    help: 'Validators whose precommit is not in the last commit',
    registers: r,
  });
  const missingPower = new client.Gauge({
    name: 'synod_node_missing_validators_power',
    help: 'Voting power whose precommit is not in the last commit',
    registers: r,
  });
  const missed = new client.Counter({
    name: 'synod_node_validator_missed_blocks_total',
    help: 'Commits without this validator precommit for the block (explicit zero for every validator seen)',
    labelNames: ['validator'],
    registers: r,
  });
  const evidenceCommitted = new client.Counter({
    name: 'synod_node_evidence_committed_total',
    help: 'Evidence included in executed blocks',
    registers: r,
  });
  const syncHeight = new client.Gauge({
    name: 'synod_node_sync_height',
    help: 'Block sync: height reached',
    registers: r,
  });
  const syncTarget = new client.Gauge({
    name: 'synod_node_sync_target_height',
    help: 'Block sync: best peer height',
    registers: r,
  });
  const catchingUp = new client.Gauge({
    name: 'synod_node_catching_up',
    help: '1 while block sync runs, else 0',
    registers: r,
    collect() {
      this.set(node.status().state === 'syncing' ? 1 : 0);
    },
  });
  const peers = new client.Gauge({
    name: 'synod_node_peers',
    help: 'Connected peers',
    registers: r,
    collect() {
      this.set(node.status().peers);
    },
  });
  const halted = new client.Gauge({
    name: 'synod_node_halted',
    help: '1 when the node stopped producing blocks (engine halt or security alert)',
    registers: r,
    collect() {
      this.set(node.status().state === 'halted' ? 1 : 0);
    },
  });
  void [catchingUp, peers, halted];
  const lastBlockAt = new client.Gauge({
    name: 'synod_node_last_block_received_timestamp_seconds',
    help: 'Wall-clock time (Unix seconds) at which this node executed its last block',
    registers: r,
  });
  // This node's own validator (the key in priv_validator_key_file): what the validator alerts watch.
  const selfInSet = new client.Gauge({
    name: 'synod_node_self_in_validator_set',
    help: "1 when this node's validator key is in the validator set of the last executed height",
    registers: r,
  });
  const selfMissed = new client.Counter({
    name: 'synod_node_self_missed_blocks_total',
    help: "Commits of heights where this node's validator was in the set without its precommit for the block",
    registers: r,
  });
  const selfEvidence = new client.Counter({
    name: 'synod_node_self_evidence_committed_total',
    help: "Evidence against this node's validator included in executed blocks",
    registers: r,
  });
  const selfJailed = new client.Gauge({
    name: 'synod_node_self_jailed',
    help: "1 when the application has this node's validator jailed (downtime or double sign)",
    registers: r,
  });
  const selfTombstoned = new client.Gauge({
    name: 'synod_node_self_tombstoned',
    help: "1 when this node's validator is tombstoned (double sign: jailed for ever)",
    registers: r,
  });
  const selfWindowMissed = new client.Gauge({
    name: 'synod_node_self_window_missed_blocks',
    help: "Missed blocks in this node's validator's current downtime window (the application's count)",
    registers: r,
  });
  const selfWindowMax = new client.Gauge({
    name: 'synod_node_self_window_max_missed_blocks',
    help: 'More missed blocks than this in a full downtime window jails the validator',
    registers: r,
  });
  const selfHex = self === undefined ? undefined : toHex(self.address);
  let selfQuerying = false;

  /** The application's signing info of this node's validator (jail, downtime window), into gauges. */
  async function selfSigningInfo(application: Application, address: Uint8Array): Promise<void> {
    const a = await application.query({ path: 'slashing/signing-info', data: address });
    if (a.code !== 'OK') {
      selfJailed.set(0);
      selfTombstoned.set(0);
      selfWindowMissed.set(0);
      return;
    }
    const info = JSON.parse(new TextDecoder().decode(a.value)) as {
      jailed: boolean;
      tombstoned: boolean;
      missedBlocks: number;
      maxMissedBlocks: number;
    };
    selfJailed.set(info.jailed ? 1 : 0);
    selfTombstoned.set(info.tombstoned ? 1 : 0);
    selfWindowMissed.set(info.missedBlocks);
    selfWindowMax.set(info.maxMissedBlocks);
  }

  let lastTimeMs: number | undefined;
  let setCache: { height: number; set: ValidatorSet } | undefined;
  const knownValidators = new Set<string>();
  let syncStart: { atMs: number; height: number } | undefined;

  async function setAt(h: number): Promise<ValidatorSet | undefined> {
    if (setCache?.height === h) return setCache.set;
    const set = await storage.state.loadValidatorSet(h);
    if (set !== undefined) setCache = { height: h, set };
    return set;
  }

  const offs = [
    node.on('block', (e) => {
      height.set(e.height);
      txs.inc(e.block.txs.length);
      evidenceCommitted.inc(e.block.evidence.length);
      lastBlockAt.set(Date.now() / 1000);
      if (selfHex !== undefined) {
        selfEvidence.inc(e.block.evidence.filter((ev) => toHex(accused(ev)) === selfHex).length);
        if (self !== undefined && !selfQuerying) {
          selfQuerying = true;
          selfSigningInfo(self.application, self.address)
            .catch((err: unknown) =>
              log.warn('metrics: no signing info', { height: e.height, error: (err as Error).message }),
            )
            .finally(() => {
              selfQuerying = false;
            });
        }
      }
      const t = e.block.header.timeMs;
      if (lastTimeMs !== undefined && t >= lastTimeMs) interval.observe((t - lastTimeMs) / 1000);
      lastTimeMs = t;
      log.debug('executed block', {
        height: e.height,
        hash: toHex(e.hash),
        txs: e.block.txs.length,
        appHash: toHex(e.appHash),
      });
      void setAt(e.height)
        .then((set) => {
          if (set === undefined) return;
          let total = 0;
          let absentPower = 0;
          let absent = 0;
          let inSet = false;
          set.validators.forEach((v, i) => {
            const label = toHex(v.address);
            if (!knownValidators.has(label)) {
              knownValidators.add(label);
              missed.inc({ validator: label }, 0);
            }
            total += v.votingPower;
            const isSelf = label === selfHex;
            if (isSelf) inSet = true;
            if (e.commit.signatures[i]?.flag !== 'commit') {
              absent++;
              absentPower += v.votingPower;
              missed.inc({ validator: label });
              if (isSelf) selfMissed.inc();
            }
          });
          selfInSet.set(inSet ? 1 : 0);
          validators.set(set.validators.length);
          power.set(total);
          missing.set(absent);
          missingPower.set(absentPower);
        })
        .catch((err: unknown) =>
          log.warn('metrics: no validator set', { height: e.height, error: (err as Error).message }),
        );
    }),
    node.on('evidence', (e) => {
      const summary = evidenceSummary(e.evidence);
      log.warn('evidence of misbehaviour', {
        event: e.evidence.kind === 'duplicate-vote' ? 'equivocation' : 'double_proposal',
        source: e.source === 'local' ? 'local' : e.source.peer,
        ...summary,
      });
    }),
    node.on('security-alert', (a) => {
      log.error('SECURITY ALERT: conflicting commits; the node stopped producing blocks', {
        event: 'conflicting_commits',
        height: a.height,
        blockA: toHex(a.commitA.blockHash),
        blockB: toHex(a.commitB.blockHash),
      });
    }),
    node.on('halted', (e) => {
      log.error('node halted: no more blocks from this node', {
        event: 'node_halted',
        reason: e.error.message,
      });
    }),
    node.on('sync', (e) => {
      syncHeight.set(e.height);
      syncTarget.set(e.target);
      const now = Date.now();
      syncStart ??= { atMs: now, height: e.from - 1 };
      const seconds = (now - syncStart.atMs) / 1000;
      const rate = seconds > 0 ? (e.height - syncStart.height) / seconds : 0;
      const eta = rate > 0 ? Math.round((e.target - e.height) / rate) : undefined;
      log.info(e.done ? 'block sync done' : 'block sync', {
        event: 'block_sync',
        height: e.height,
        target: e.target,
        blocksPerSecond: Math.round(rate * 10) / 10,
        ...(eta === undefined || e.done ? {} : { etaSeconds: eta }),
      });
      if (e.done) syncStart = undefined;
    }),
  ];
  return {
    close() {
      for (const off of offs) off();
    },
  };
}
