import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { decodeRawHit } from '@pushtech/event';
import { runLoad } from '@pushtech/loadgen';
import { Acknowledgements, summarize, type AuditSummary } from './audit.js';
import { Auditor } from './auditor.js';
import { Pod } from './pod.js';
import { redisCommand } from './redis-command.js';
import type { ChaosEnvironment } from './scenario.js';
import { Scope } from './scope.js';
import { createAuditTopics, deleteAuditTopics } from './topics.js';

export interface LossControlResult {
  /** Request ids of the acknowledged events taken out of Redis behind the pipeline's back. */
  readonly removed: readonly string[];
  readonly audit: AuditSummary;
  /** The auditor reported exactly the removed events as lost. */
  readonly detected: boolean;
}

/**
 * The negative control: proof that the audit can fail. Events are acknowledged by the tracker,
 * then `remove` of them are deleted from Redis before kafkastore starts; the audit must report
 * exactly those as lost. A suite whose auditor could not see this would pass whatever happened.
 */
export async function runLossControl(
  env: ChaosEnvironment,
  options: { rate: number; seconds?: number; remove?: number; settleTimeoutMs?: number },
): Promise<LossControlResult> {
  const remove = options.remove ?? 20;
  const scope = new Scope();
  mkdirSync(env.workDir, { recursive: true });
  const dir = mkdtempSync(path.join(env.workDir, 'loss-control-'));
  scope.defer('work folder', () => rmSync(dir, { recursive: true, force: true }));
  try {
    const topics = await createAuditTopics(env.sharedBrokers, 'chaos-loss-control');
    scope.defer('topics', () => deleteAuditTopics(env.sharedBrokers, topics));
    const auditor = await Auditor.start(env.sharedBrokers, topics, env.log);
    scope.defer('auditor', () => auditor.stop());
    const pod = await Pod.start({ dir, brokers: env.sharedBrokers, topics, withKafkastore: false }, scope);

    const acks = new Acknowledgements();
    await runLoad({
      target: pod.trackerUrl,
      rate: options.rate,
      durationSeconds: options.seconds ?? 2,
      connections: 16,
      onAcknowledged: (rids) => acks.add(rids),
    });
    if (acks.count <= remove) {
      throw new Error(`loss control: only ${acks.count} events acknowledged; cannot remove ${remove} of them`);
    }
    // The oldest entries, the ones kafkastore would have taken first.
    const taken = await redisCommand(pod.redisUrl, ['RPOP', pod.queueKeys[0], remove]);
    const removed = (Array.isArray(taken) ? taken : []).map((entry) => {
      const hit = typeof entry === 'string' ? decodeRawHit(entry) : undefined;
      const rid = hit?.ok ? new URLSearchParams(hit.value.params).get('rid') : null;
      if (!rid) throw new Error(`loss control: an entry taken from Redis has no request id: ${String(entry)}`);
      return rid;
    });
    if (removed.length !== remove) {
      throw new Error(`loss control: took ${removed.length} entries from Redis, wanted ${remove}`);
    }

    await pod.startKafkastore().waitReady(60_000);
    await auditor.waitFor(acks.ids(), {
      timeoutMs: options.settleTimeoutMs ?? 60_000,
      nothingPending: async () => (await pod.backlog()) === 0 && (await auditor.caughtUp()),
    });
    const audit = summarize(acks, auditor.sightings, remove);
    const reported = new Set(audit.lostSample);
    return {
      removed,
      audit,
      detected: audit.lost === removed.length && removed.every((rid) => reported.has(rid)),
    };
  } finally {
    await scope.close(env.log);
  }
}
