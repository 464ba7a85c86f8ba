import type { OpsWatch } from '../ops-sampler.js';
import type { ResolvedOptions, ScenarioDefinition } from '../scenario.js';
import { warmupSeconds } from '../scenario.js';
import { describeSinkAudit, exactlyOnce, parseSinkAudit, sinkAuditScript, type SinkAudit } from '../sink-audit.js';
import type { SinkStack } from '../sink-stack.js';
import { sleep } from '../sleep.js';
import { nothingDeadLettered } from '../checks.js';

/** Seconds of load after the last kill, for the sink to write what arrives after it. */
const TAIL_SECONDS = 4;
/** Seconds after PostgreSQL is back before the next kill may come, at least (start, crash recovery). */
const GAP_SECONDS = 3;
const READY_TIMEOUT_MS = 60_000;
/** Rows the negative control deletes, and rows it stores a second time. */
const CONTROL_ROWS = 10;

function slotSeconds(o: ResolvedOptions): number {
  return (o.durationSeconds - warmupSeconds(o) - TAIL_SECONDS) / o.postgresKills;
}

interface Kill {
  readonly killedAt: number;
  readonly backAt: number;
  /** When the sink answered /readyz 200 again (0: not within READY_TIMEOUT_MS). */
  readonly readyAt: number;
  readonly exit: number | string;
  readonly oldPid: number;
  readonly newPid: number;
  readonly ops: OpsWatch;
}

async function killOnce(sink: SinkStack, downSeconds: number): Promise<Kill> {
  const stopWatching = sink.watchOps();
  try {
    const oldPid = sink.postgres.process.pid;
    const killedAt = Date.now();
    const exit = await sink.killPostgres();
    await sleep(killedAt + downSeconds * 1000 - Date.now());
    await sink.restartPostgres();
    const backAt = Date.now();
    let readyAt = 0;
    while (readyAt === 0 && Date.now() < backAt + READY_TIMEOUT_MS && sink.sink.alive) {
      if ((await sink.sampleOps()).ready) readyAt = Date.now();
      else await sleep(50);
    }
    return { killedAt, backAt, readyAt, exit, oldPid, newPid: sink.postgres.process.pid, ops: await stopWatching() };
  } finally {
    await stopWatching();
  }
}

/**
 * Per kill: from PostgreSQL answering again until the sink committed the first event the tracker
 * received after that moment (PostgreSQL's own commit time of the row); null when none.
 */
async function recoveries(sink: SinkStack, kills: readonly Kill[]): Promise<(number | null)[]> {
  if (kills.length === 0) return [];
  const lines = await sink.psql(
    kills
      .map(
        (k, i) =>
          `select ${i}, coalesce(round(extract(epoch from min(pg_xact_commit_timestamp(xmin))) * 1000)::bigint, -1)
             from events where received_at >= to_timestamp(${k.backAt} / 1000.0);`,
      )
      .join('\n'),
  );
  const firstCommit = new Map(lines.map((l) => l.split('\t').map(Number) as [number, number]));
  return kills.map((k, i) => {
    const at = firstCommit.get(i) ?? -1;
    return at < 0 ? null : Math.max(0, at - k.backAt);
  });
}

const sqlList = (values: readonly string[]): string => values.map((v) => `'${v.replaceAll("'", "''")}'`).join(', ');

/**
 * The negative control, after the audit: some acknowledged rows deleted, others stored a second
 * time under a receive time 1 ms later (the primary key is (id, received_at), so the table takes
 * the copy, as a sink deduplicating by the wrong key would), the rollups left alone. The same
 * audit must report exactly those as missing and twice, and the rollups as wrong.
 */
async function tamper(
  sink: SinkStack,
  acknowledged: readonly string[],
  topicIds: Iterable<string>,
  before: SinkAudit,
): Promise<{ deleted: number; copied: number; after: SinkAudit; detected: boolean }> {
  const picks = Array.from(
    { length: Math.min(2 * CONTROL_ROWS, acknowledged.length) },
    (_, i) => acknowledged[Math.floor(((i + 0.5) * acknowledged.length) / (2 * CONTROL_ROWS))] as string,
  );
  const toDelete = picks.filter((_, i) => i % 2 === 0);
  const toCopy = picks.filter((_, i) => i % 2 === 1);
  const lines = await sink.psql(
    [
      `with d as (delete from events where params->>'rid' in (${sqlList(toDelete)}) returning 1)
         select 'deleted', count(*) from d;`,
      `create temp table copies as select * from events where params->>'rid' in (${sqlList(toCopy)});`,
      `update copies set received_at = received_at + interval '1 millisecond';`,
      `with i as (insert into events select * from copies returning 1) select 'copied', count(*) from i;`,
      '',
    ].join('\n'),
  );
  const figure = (name: string): number => Number(lines.find((l) => l.startsWith(`${name}\t`))?.split('\t')[1] ?? -1);
  const deleted = figure('deleted');
  const copied = figure('copied');
  const after = parseSinkAudit(await sink.psql(sinkAuditScript(acknowledged, topicIds)));
  const detected =
    deleted > 0 &&
    copied > 0 &&
    after.lost - before.lost === deleted &&
    after.duplicated - before.duplicated === copied &&
    after.rows - after.distinctIds - (before.rows - before.distinctIds) === copied &&
    after.rollupGroupsWrong > before.rollupGroupsWrong &&
    !exactlyOnce(after);
  return { deleted, copied, after, detected };
}

export const postgresKill: ScenarioDefinition = {
  name: 'postgres-kill',
  title: "the PostgreSQL sink's database SIGKILLed under load and restarted",
  description:
    "postgres_sink (the consumers service, started as in production) writes the scenario's topic into a " +
    'PostgreSQL of its own, started as the devstack starts it. Under load, postgresKills times, every PostgreSQL ' +
    'process is SIGKILLed at once (its process group) and the server is started again on the same folder and ' +
    'port after postgresDownSeconds (crash recovery). The sink is never restarted: it must hold its batches ' +
    '(not ready, nothing dead-lettered or committed) and resume by itself. After the load every acknowledged ' +
    'event must be in `events` exactly once (row count, distinct ids, the acknowledged ids missing and twice), ' +
    'every event of the topic and nothing else, the hourly rollups equal to the rows. Negative control: rows ' +
    'deleted and rows stored twice must be reported as missing and twice.',
  recoveryDefinition:
    'from PostgreSQL answering again until the sink committed the first event the tracker received after that ' +
    "moment (the row's commit time in PostgreSQL): the sink's retry backoff, reconnect and backlog",
  ownBroker: false,
  postgresSink: true,
  minDurationSeconds: (o) => warmupSeconds(o) + TAIL_SECONDS + o.postgresKills * (o.postgresDownSeconds + GAP_SECONDS),

  async inject(ctx) {
    const { options, auditor, pod } = ctx;
    const sink = ctx.sink;
    if (!sink) throw new Error('postgres-kill: the sink is not running');
    const warmup = warmupSeconds(options);
    const slot = slotSeconds(options);
    const kills: Kill[] = [];
    for (let i = 0; i < options.postgresKills; i += 1) {
      await ctx.at(warmup + i * slot);
      const kill = await killOnce(sink, options.postgresDownSeconds);
      kills.push(kill);
      ctx.log(
        `postgres-kill: PostgreSQL killed (exit ${kill.exit}), back after ${kill.backAt - kill.killedAt} ms, ` +
          `the sink ready ${kill.readyAt === 0 ? 'never' : `${kill.readyAt - kill.backAt} ms`} after`,
      );
    }

    return {
      faults: kills.map((k) => ({
        what: `PostgreSQL SIGKILLed, back after ${options.postgresDownSeconds} s`,
        startedAt: k.killedAt,
        endedAt: k.backAt,
      })),
      evaluate: async ({ acks }) => {
        const limit = Date.now() + options.settleTimeoutMs;
        // The topic is complete (nothing waits in the pod's Redis) and read to its end.
        while (Date.now() < limit && !((await pod.backlog()) === 0 && (await auditor.caughtUp()))) await sleep(200);
        const settleStartedAt = Date.now();
        let caughtUp = false;
        while (!caughtUp && Date.now() < limit && sink.sink.alive) {
          caughtUp = await sink.caughtUp();
          if (!caughtUp) await sleep(200);
        }
        const sinkSettleMs = Date.now() - settleStartedAt;
        while (Date.now() < limit && !(await auditor.caughtUp(pod.options.topics.deadLetterTopic))) await sleep(200);

        const topicIds = [...auditor.events.keys()];
        const audit = parseSinkAudit(await sink.psql(sinkAuditScript(acks.ids(), topicIds)));
        const recovered = await recoveries(sink, kills);
        const sinkExit = await sink.exitIfAny();
        // After the audit: it changes what was audited.
        const control = await tamper(sink, acks.ids(), topicIds, audit);

        const downWhile = kills.map((k) => acks.countBetween(k.killedAt, k.backAt));
        const measured = recovered.filter((ms): ms is number => ms !== null);
        const readyAfter = kills.map((k) => (k.readyAt === 0 ? -1 : k.readyAt - k.backAt));
        return {
          recoveries: recovered,
          evidence: {
            kills: kills.length,
            postgresDownMsMax: Math.max(0, ...kills.map((k) => k.backAt - k.killedAt)),
            ackedWhilePostgresDown: downWhile.reduce((a, b) => a + b, 0),
            sinkReadyAgainMsMax: Math.max(...readyAfter),
            sinkRecoveryMsMax: measured.length === 0 ? -1 : Math.max(...measured),
            sinkSettleMs,
            rows: audit.rows,
            distinctIds: audit.distinctIds,
            sinkLost: audit.lost,
            sinkDuplicated: audit.duplicated,
            topicMissing: audit.topicMissing,
            unexpectedRows: audit.unexpected,
            rollupTotal: audit.rollupTotal,
            rollupGroupsWrong: audit.rollupGroupsWrong,
            deviceHoursWrong: audit.deviceHoursWrong,
            deadLettered: auditor.deadLetters,
            controlDeleted: control.deleted,
            controlLost: control.after.lost - audit.lost,
            controlCopied: control.copied,
            controlDuplicated: control.after.duplicated - audit.duplicated,
            controlRollupGroupsWrong: control.after.rollupGroupsWrong,
          },
          checks: [
            {
              name: 'PostgreSQL was SIGKILLed and replaced each time',
              ok:
                kills.length === options.postgresKills &&
                kills.every((k) => k.exit === 'SIGKILL' && k.newPid !== k.oldPid),
              detail: kills.map((k) => `exit ${k.exit}, pid ${k.oldPid} -> ${k.newPid}`).join('; '),
            },
            {
              name: 'events were acknowledged while PostgreSQL was down',
              ok: downWhile.every((n) => n > 0),
              detail: `${downWhile.join(', ')} per kill`,
            },
            {
              name: 'each kill made the sink not ready and raised pushtech_consumer_outage',
              ok: kills.every((k) => k.ops.notReady > 0 && k.ops.outageMax > 0),
              detail: kills
                .map((k) => `not ready in ${k.ops.notReady}/${k.ops.samples} samples, outage ${k.ops.outageMax}`)
                .join('; '),
            },
            {
              name: 'the sink resumed by itself (the same process, ready again, never restarted)',
              ok: sinkExit === undefined && sink.sink.alive && readyAfter.every((ms) => ms >= 0),
              detail:
                sinkExit === undefined
                  ? `pid ${sink.sink.pid} throughout; ready ${readyAfter.map((ms) => (ms < 0 ? 'never' : `${ms} ms`)).join(', ')} after PostgreSQL was back`
                  : `exited ${sinkExit.signal ?? sinkExit.code}: ${sink.sink.recentOutput().split('\n').pop() ?? ''}`,
            },
            {
              name: 'the sink caught up with the topic',
              ok: caughtUp,
              detail: caughtUp ? `in ${sinkSettleMs} ms after the load` : 'not within the settle time',
            },
            {
              name: 'every acknowledged event is in events exactly once, with every event of the topic and exact rollups',
              ok: exactlyOnce(audit),
              detail: describeSinkAudit(audit),
            },
            nothingDeadLettered(auditor),
            {
              name: 'control: rows deleted and rows stored twice, and the audit sees both',
              ok: control.detected,
              detail:
                `${control.deleted} deleted, ${control.copied} stored twice; the audit reports ` +
                `${control.after.lost - audit.lost} missing, ${control.after.duplicated - audit.duplicated} twice, ` +
                `${control.after.rollupGroupsWrong} rollup groups wrong`,
            },
          ],
        };
      },
    };
  },
};
