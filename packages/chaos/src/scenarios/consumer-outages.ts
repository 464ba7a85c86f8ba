import { copyFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fillFilesystem } from '@pushtech/devstack';
import {
  auditArchive,
  auditCounts,
  readArchiveDir,
  readArchiveFile,
  type ArchiveAudit,
  type CountAudit,
} from '../consumer-audit.js';
import { metadataDimensions, type ConsumerStack } from '../consumer-stack.js';
import type { StopWatching } from '../ops-sampler.js';
import type { Check, ResolvedOptions, ScenarioDefinition } from '../scenario.js';
import { warmupSeconds } from '../scenario.js';
import { sleep } from '../sleep.js';
import { nothingDeadLettered } from '../checks.js';

/** Seconds of load after the last fault, for the restarted consumers to take up the traffic. */
const TAIL_SECONDS = 4;
/** Seconds between the end of one fault and the start of the next, at least. */
const GAP_SECONDS = 1.5;
const LOADING_TIMEOUT_MS = 10_000;
/**
 * How much longer a "full" fault is held, at most, while its consumer has not reported it yet. A
 * consumer meets a full Redis or disk only when it writes: the archiver writes once per fetch
 * linger (ARCHIVE_FETCH_LINGER_MS, 2 s), and the dependency probe runs every 5 s, so an outage
 * as short as the linger can end before any write tried it (the short run's 2 s outage did,
 * once in CI). Holding it until a write met it keeps the checks about what a consumer does in an
 * outage; a consumer that never notices still fails them, this much later.
 */
const NOTICE_GRACE_MS = 4_000;
const MIB = 1024 * 1024;

/** Four faults, each at the start of a slot of this many seconds after the warm-up. */
function slotSeconds(o: ResolvedOptions): number {
  return (o.durationSeconds - warmupSeconds(o) - TAIL_SECONDS) / 4;
}

const sum = (fields: ReadonlyMap<string, number> | undefined): number =>
  [...(fields?.values() ?? [])].reduce((a, b) => a + b, 0);

export const consumerOutages: ScenarioDefinition = {
  name: 'consumer-outages',
  title: "consumers' dependencies starved and killed under load (Redis OOM, disk full, Redis and consumer SIGKILL)",
  description:
    'The built-in consumers (event_counter and metadata_counter in one process, the archiver in another) read the ' +
    "scenario's topic, their state in a Redis of their own (AOF, fsync always) and the archive on a small tmpfs " +
    "(needs root). Under load, in turn: the consumers' Redis filled to its maxmemory (noeviction) for " +
    'consumerOutageSeconds, and up to 4 s longer until a consumer write met it; the archive disk filled to ENOSPC ' +
    'likewise; the consumers’ Redis SIGKILLed and ' +
    'restarted on its AOF after redisDownSeconds; both consumer processes SIGKILLed and restarted. Every event in ' +
    'the topic must be counted exactly once and archived exactly once, nothing dead-lettered, no temporary file ' +
    'left. Negative controls in the same run: the counters replayed from the start without their state must ' +
    'count every event again, and an archive file deleted and another copied must be reported missing and twice.',
  recoveryDefinition: 'none: the tracker and kafkastore are not faulted; the consumers must catch up after the load',
  ownBroker: false,
  consumers: (o) => ({ archiveDiskBytes: Math.min(512 * MIB, Math.max(32 * MIB, o.rate * o.durationSeconds * 1024)) }),
  minDurationSeconds: (o) =>
    warmupSeconds(o) + TAIL_SECONDS + 4 * (Math.max(o.consumerOutageSeconds, o.redisDownSeconds) + GAP_SECONDS),

  async inject(ctx) {
    const { options, auditor, pod } = ctx;
    const stack = ctx.consumers;
    if (!stack) throw new Error('consumer-outages: the consumers are not running');
    const warmup = warmupSeconds(options);
    const slot = slotSeconds(options);
    const outageMs = options.consumerOutageSeconds * 1000;

    // 1. The consumers' Redis full: writes refused with OOM, PING and reads still answered.
    await ctx.at(warmup);
    const oomBefore = await stack.oomRefusals();
    const stopWatchingOom = stack.watchOps('counters');
    let oomStartedAt = 0;
    let oomEndedAt = 0;
    let full: Awaited<ReturnType<ConsumerStack['fillMemory']>>;
    try {
      full = await stack.fillMemory();
      oomStartedAt = Date.now();
      await sleep(oomStartedAt + outageMs - Date.now());
      await untilNoticed(stopWatchingOom, oomStartedAt + outageMs + NOTICE_GRACE_MS);
      await full.release();
      oomEndedAt = Date.now();
    } finally {
      await stopWatchingOom();
    }
    const oomOps = await stopWatchingOom();
    const consumerOomRefusals = (await stack.oomRefusals()) - oomBefore - (full.refusal === '' ? 0 : 1);
    ctx.log(
      `consumer-outages: Redis full for ${oomEndedAt - oomStartedAt} ms (${full.fillerKeys} filler keys, ` +
        `"${full.refusal}"), ${consumerOomRefusals} consumer writes refused`,
    );

    // 2. The archive disk full: every write fails with ENOSPC.
    await ctx.at(warmup + slot);
    const stopWatchingDisk = stack.watchOps('archiver');
    const filled = fillFilesystem(stack.archiveDir);
    const diskStartedAt = Date.now();
    let filesWhileFull = 0;
    try {
      const filesBeforeFull = archiveFileCount(stack.archiveDir);
      await sleep(diskStartedAt + outageMs - Date.now());
      await untilNoticed(stopWatchingDisk, diskStartedAt + outageMs + NOTICE_GRACE_MS);
      filesWhileFull = archiveFileCount(stack.archiveDir) - filesBeforeFull;
    } finally {
      filled.release();
      await stopWatchingDisk();
    }
    const diskEndedAt = Date.now();
    const diskOps = await stopWatchingDisk();
    ctx.log(
      `consumer-outages: archive disk full for ${diskEndedAt - diskStartedAt} ms ` +
        `(${Math.round(filled.bytes / MIB)} MiB filler, ${filled.freeAfter} bytes left)`,
    );

    // 3. The consumers' Redis SIGKILLed and started again on its AOF.
    await ctx.at(warmup + 2 * slot);
    // Temporary files that outlived the disk outage were left by a failed write.
    const temporaryAfterDiskFull = new Set(readArchiveDir(stack.archiveDir).temporary);
    const countedBeforeKill = sum(await stack.eventTotals());
    const oldRedisPid = stack.redis.process.pid;
    const stopWatchingRedis = stack.watchOps('counters');
    const redisKilledAt = Date.now();
    let redisExit: number | string = 0;
    try {
      redisExit = await stack.killRedis();
      await sleep(redisKilledAt + options.redisDownSeconds * 1000 - Date.now());
      await stack.restartRedis();
    } finally {
      await stopWatchingRedis();
    }
    const redisBackAt = Date.now();
    const redisOps = await stopWatchingRedis();
    let countedAfterRestart = await stack.eventTotals();
    while (countedAfterRestart === undefined && Date.now() < redisBackAt + LOADING_TIMEOUT_MS) {
      await sleep(20);
      countedAfterRestart = await stack.eventTotals();
    }
    const newRedisPid = stack.redis.process.pid;
    ctx.log(
      `consumer-outages: consumers' Redis killed (exit ${redisExit}), back after ${redisBackAt - redisKilledAt} ms; ` +
        `${countedBeforeKill} counted before, ${sum(countedAfterRestart)} after`,
    );

    // 4. Both consumer processes SIGKILLed (batches in hand), started again at once.
    await ctx.at(warmup + 3 * slot);
    const processKilledAt = Date.now();
    const killedArchiverPid = stack.process('archiver').pid;
    const [countersExit, archiverExit] = await Promise.all([stack.kill('counters'), stack.kill('archiver')]);
    await Promise.all([stack.restart('counters'), stack.restart('archiver')]);
    const processesBackAt = Date.now();
    ctx.log(
      `consumer-outages: consumer processes SIGKILLed and ready again after ${processesBackAt - processKilledAt} ms`,
    );

    return {
      faults: [
        { what: "consumers' Redis at maxmemory", startedAt: oomStartedAt, endedAt: oomEndedAt, recovers: false },
        { what: 'archive disk full', startedAt: diskStartedAt, endedAt: diskEndedAt, recovers: false },
        { what: "consumers' Redis SIGKILLed", startedAt: redisKilledAt, endedAt: redisBackAt, recovers: false },
        { what: 'consumer processes SIGKILLed', startedAt: processKilledAt, endedAt: processesBackAt, recovers: false },
      ],
      evaluate: async ({ acks }) => {
        const limit = Date.now() + options.settleTimeoutMs;
        // The topic is complete (nothing waits in the pod's Redis) and read to its end.
        while (Date.now() < limit && !((await pod.backlog()) === 0 && (await auditor.caughtUp()))) await sleep(200);
        const settleStartedAt = Date.now();
        const consumersSettled = await settle(stack, limit);
        const consumersSettleMs = Date.now() - settleStartedAt;
        while (Date.now() < limit && !(await auditor.caughtUp(pod.options.topics.deadLetterTopic))) await sleep(200);

        const events = auditor.events;
        const perType = new Map<string, number>();
        for (const e of events.values()) perType.set(e.type, (perType.get(e.type) ?? 0) + 1);
        const totals = auditCounts(perType, (await stack.eventTotals()) ?? new Map());
        const dimensions = await Promise.all(
          metadataDimensions.map(async (d) => ({
            d,
            audit: auditCounts(events.size, (await stack.dimension(d)) ?? new Map()),
          })),
        );
        const archive = readArchiveDir(stack.archiveDir);
        const archived = auditArchive(events.keys(), archive.ids);
        // A process SIGKILLed mid-write cannot remove its temporary file (`<file>.<pid>.tmp`,
        // ignored by readers); any other one was left by a write that failed.
        const leftByKill = archive.temporary.filter(
          (f) => f.endsWith(`.${killedArchiverPid}.tmp`) && !temporaryAfterDiskFull.has(f),
        );
        const leftByFailure = archive.temporary.filter((f) => !leftByKill.includes(f));
        const stateKeys = (await stack.keys()).filter((k) => !stack.isCounterKey(k)).length;

        // Negative controls, after the audit: they change what was audited.
        const replay = await replayWithoutState(stack, totals, perType, options.settleTimeoutMs);
        const archiveControl = tamperWithArchive(stack, events.keys(), archived, archive.ids);

        const unexpected = stack.unexpectedExits;
        const checks: Check[] = [
          {
            name: "the consumers' Redis was full and refused their writes (OOM)",
            ok: /^OOM/.test(full.refusal) && consumerOomRefusals > 0,
            detail: `filler refused with "${full.refusal}" after ${full.fillerKeys} keys; ${consumerOomRefusals} consumer writes refused`,
          },
          {
            name: 'the archive disk was full',
            ok: filled.freeAfter === 0 && filled.bytes > 0 && acks.countBetween(diskStartedAt, diskEndedAt) > 0,
            detail: `${Math.round(filled.bytes / MIB)} MiB written until ENOSPC, ${filled.freeAfter} bytes left; ${acks.countBetween(diskStartedAt, diskEndedAt)} events acknowledged meanwhile`,
          },
          {
            name: "the consumers' Redis was killed and replaced, its counts kept (AOF)",
            ok:
              redisExit === 'SIGKILL' &&
              newRedisPid !== oldRedisPid &&
              countedBeforeKill > 0 &&
              sum(countedAfterRestart) >= countedBeforeKill,
            detail: `exit ${redisExit}, pid ${oldRedisPid} -> ${newRedisPid}; ${countedBeforeKill} counted before the kill, ${countedAfterRestart === undefined ? 'Redis not answering' : sum(countedAfterRestart)} after the restart`,
          },
          {
            name: 'both consumer processes were SIGKILLed and started again',
            ok: countersExit.signal === 'SIGKILL' && archiverExit.signal === 'SIGKILL',
            detail: `counters ${countersExit.signal ?? countersExit.code}, archiver ${archiverExit.signal ?? archiverExit.code}; ready again after ${processesBackAt - processKilledAt} ms`,
          },
          {
            name: 'no consumer process exited on its own (an outage pauses it)',
            ok: unexpected.length === 0,
            detail:
              unexpected.length === 0
                ? 'none'
                : `${unexpected.length} exits, e.g. ${unexpected[0]?.role} exit ${unexpected[0]?.exit.code ?? unexpected[0]?.exit.signal}: ${lastLine(unexpected[0]?.output)}`,
          },
          {
            name: 'each outage made the consumer not ready',
            ok: oomOps.notReady > 0 && diskOps.notReady > 0 && redisOps.notReady > 0,
            detail:
              `not ready in ${oomOps.notReady}/${oomOps.samples} samples while Redis was full, ` +
              `${diskOps.notReady}/${diskOps.samples} while the disk was full, ${redisOps.notReady}/${redisOps.samples} while Redis was down`,
          },
          {
            name: 'pushtech_consumer_outage was raised while Redis and the disk were full',
            ok: oomOps.outageMax > 0 && diskOps.outageMax > 0,
            detail: `highest value ${oomOps.outageMax} while Redis was full, ${diskOps.outageMax} while the disk was full`,
          },
          {
            name: 'the consumers caught up with the topic',
            ok: consumersSettled,
            detail: consumersSettled ? `in ${consumersSettleMs} ms after the load` : `not within the settle time`,
          },
          countCheck('every event counted exactly once (event_counter totals per type)', totals),
          ...dimensions.map(({ d, audit }) =>
            countCheck(`every event counted exactly once (metadata_counter ${d})`, audit),
          ),
          {
            name: 'every event archived exactly once',
            ok:
              archived.expected > 0 &&
              archived.archivedOnce === archived.expected &&
              archived.duplicated === 0 &&
              archived.unexpected === 0 &&
              archive.unreadable.length === 0,
            detail: archiveDetail(archived, archive.unreadable),
          },
          {
            name: 'no temporary file left in the archive by a failed write',
            ok: leftByFailure.length === 0,
            detail:
              (leftByFailure.length === 0 ? 'none' : `${leftByFailure.length}, e.g. ${leftByFailure[0]}`) +
              `; ${leftByKill.length} left by the SIGKILLed archiver (pid ${killedArchiverPid})`,
          },
          nothingDeadLettered(auditor),
          {
            name: 'control: counters replayed without their state count every event again, and the audit sees it',
            ok:
              replay.added === events.size &&
              replay.audit.overCounted === totals.counted &&
              replay.audit.overCounted > 0,
            detail: `${replay.stateKeysDeleted} state keys deleted; the replay counted ${replay.added} of ${events.size} events again; the audit reports ${replay.audit.overCounted} counted twice`,
          },
          {
            name: 'control: an archive file deleted and another copied, and the audit sees both',
            ok: archiveControl.detected,
            detail: archiveControl.detail,
          },
        ];
        return {
          evidence: {
            events: events.size,
            counted: totals.counted,
            overCounted: totals.overCounted,
            underCounted: totals.underCounted,
            archived: archived.archivedOnce,
            archiveMissing: archived.missing,
            archiveDuplicated: archived.duplicated,
            archiveFiles: archive.files,
            temporaryFiles: leftByFailure.length,
            temporaryFilesFromKill: leftByKill.length,
            deadLettered: auditor.deadLetters,
            consumerStateKeys: stateKeys,
            consumersSettleMs,
            unexpectedExits: unexpected.length,
            redisFullMs: oomEndedAt - oomStartedAt,
            ackedWhileRedisFull: acks.countBetween(oomStartedAt, oomEndedAt),
            consumerOomRefusals,
            diskFullMs: diskEndedAt - diskStartedAt,
            ackedWhileDiskFull: acks.countBetween(diskStartedAt, diskEndedAt),
            archiveFilesWrittenWhileFull: filesWhileFull,
            ackedWhileRedisDown: acks.countBetween(redisKilledAt, redisBackAt),
            consumerRestartMs: processesBackAt - processKilledAt,
            controlReplayCounted: replay.added,
            controlOverCounted: replay.audit.overCounted,
            controlArchiveMissing: archiveControl.missing,
            controlArchiveDuplicated: archiveControl.duplicated,
          },
          checks,
        };
      },
    };
  },
};

/**
 * Waits until the watched consumer has been seen not ready with its outage gauge raised, or until
 * `limit`: the fault it watches is held meanwhile.
 */
async function untilNoticed(watch: StopWatching, limit: number): Promise<void> {
  const noticed = (): boolean => watch.seen().notReady > 0 && watch.seen().outageMax > 0;
  while (!noticed() && Date.now() < limit) await sleep(100);
}

/**
 * Waits until every consumer group committed up to the topic's end (what they applied before is
 * in Redis and on disk by then), or until `limit`. Whether they got there.
 */
async function settle(stack: ConsumerStack, limit: number): Promise<boolean> {
  for (;;) {
    if (await stack.caughtUp().catch(() => false)) return true;
    if (Date.now() >= limit) return false;
    await sleep(250);
  }
}

/**
 * Negative control for counting: the consumers' bookkeeping (every key but the counters' own
 * hashes) deleted, and the counters started again in new consumer groups, which read the topic
 * from the beginning. Nothing tells them what was applied, so every event is counted again: the
 * audit must report as many events counted twice as were counted before.
 */
async function replayWithoutState(
  stack: ConsumerStack,
  before: CountAudit,
  perType: ReadonlyMap<string, number>,
  timeoutMs: number,
): Promise<{ stateKeysDeleted: number; added: number; audit: CountAudit }> {
  const state = (await stack.keys()).filter((k) => !stack.isCounterKey(k));
  for (let i = 0; i < state.length; i += 500) await stack.command(['DEL', ...state.slice(i, i + 500)]);
  await stack.replayCountersFromStart();
  await settle(stack, Date.now() + timeoutMs);
  const audit = auditCounts(perType, (await stack.eventTotals()) ?? new Map());
  return { stateKeysDeleted: state.length, added: audit.counted - before.counted, audit };
}

/**
 * Negative control for the archive: one archive file deleted and another copied under a new
 * name. The same audit must report the deleted file's events missing (those it held alone) and
 * the copied file's events archived twice.
 */
function tamperWithArchive(
  stack: ConsumerStack,
  expectedIds: Iterable<string>,
  before: ArchiveAudit,
  archivedBefore: ReadonlyMap<string, number>,
): { detected: boolean; missing: number; duplicated: number; detail: string } {
  const files = archiveFiles(stack.archiveDir);
  const [deleted, copied] = files;
  if (deleted === undefined || copied === undefined) {
    return {
      detected: false,
      missing: 0,
      duplicated: 0,
      detail: `only ${files.length} archive files: nothing to tamper with`,
    };
  }
  const aloneInDeleted = readArchiveFile(deleted).filter((id) => archivedBefore.get(id) === 1).length;
  const copiedLines = readArchiveFile(copied).length;
  rmSync(deleted);
  copyFileSync(copied, copied.replace(/\.ndjson\.gz$/, '.control-copy.ndjson.gz'));
  const after = auditArchive(expectedIds, readArchiveDir(stack.archiveDir).ids);
  const missing = after.missing - before.missing;
  const duplicated = after.duplicated - before.duplicated;
  return {
    detected: aloneInDeleted > 0 && missing === aloneInDeleted && duplicated === copiedLines,
    missing,
    duplicated,
    detail:
      `deleted ${path.basename(deleted)} (${aloneInDeleted} events archived only there): ${missing} more reported missing; ` +
      `copied ${path.basename(copied)} (${copiedLines} events): ${duplicated} more reported twice`,
  };
}

function countCheck(name: string, audit: CountAudit): Check {
  return {
    name,
    ok: audit.expected > 0 && audit.overCounted === 0 && audit.underCounted === 0,
    detail:
      `${audit.counted} counted for ${audit.expected} events` +
      (audit.sample.length === 0
        ? ''
        : `; ${audit.overCounted} over, ${audit.underCounted} under, e.g. ${audit.sample.join(', ')}`),
  };
}

function archiveDetail(audit: ArchiveAudit, unreadable: readonly string[]): string {
  const parts = [`${audit.archivedOnce} of ${audit.expected} archived once`];
  if (audit.missing > 0) parts.push(`${audit.missing} missing, e.g. ${audit.missingSample.join(', ')}`);
  if (audit.duplicated > 0) parts.push(`${audit.duplicated} extra copies, e.g. ${audit.duplicatedSample.join(', ')}`);
  if (audit.unexpected > 0) parts.push(`${audit.unexpected} ids not in the topic`);
  if (unreadable.length > 0) parts.push(`${unreadable.length} unreadable files, e.g. ${unreadable[0]}`);
  return parts.join('; ');
}

/** The archive's files, absolute paths, sorted. */
function archiveFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ndjson.gz'))
    .sort()
    .map((f) => path.join(dir, f));
}

function archiveFileCount(dir: string): number {
  return archiveFiles(dir).length;
}

function lastLine(output: string | undefined): string {
  const lines = (output ?? '').trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}
