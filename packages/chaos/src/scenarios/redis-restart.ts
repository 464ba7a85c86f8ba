import type { ScenarioDefinition } from '../scenario.js';
import { warmupSeconds } from '../scenario.js';
import { sleep } from '../sleep.js';

/** Longest wait for a backlog to build up in Redis before it is killed. */
const BACKLOG_WAIT_MS = 3_000;
const LOADING_TIMEOUT_MS = 10_000;

export const redisRestart: ScenarioDefinition = {
  name: 'redis-restart',
  title: 'Redis SIGKILLed and restarted (AOF)',
  description:
    "The pod's Redis (AOF, fsync before every answer) is SIGKILLed and started again after redisDownSeconds on the same port and " +
    'folder, so it replays its AOF. kafkastore is paused (SIGSTOP) for a moment before, so acknowledged events ' +
    'are waiting in Redis when it dies; it is resumed once Redis is back. The tracker answers 503 meanwhile.',
  recoveryDefinition:
    'from Redis answering again until the first event acknowledged after that moment was appended to Kafka ' +
    '(tracker and kafkastore reconnecting, the replayed backlog)',
  ownBroker: false,
  minDurationSeconds: (o) => warmupSeconds(o) + BACKLOG_WAIT_MS / 1000 + o.redisDownSeconds + 4,

  async inject(ctx) {
    const { options, pod } = ctx;
    const kafkastore = pod.kafkastore;
    if (!kafkastore) throw new Error('redis-restart: no kafkastore is running');
    await ctx.at(warmupSeconds(options));

    kafkastore.signal('SIGSTOP');
    let backlogAtCrash = 0;
    let backlogAfterRestart = 0;
    let crashedAt = 0;
    let backAt = 0;
    let exit: number | string = 0;
    const oldPid = pod.redis.process.pid;
    try {
      const wanted = Math.max(20, Math.round(options.rate / 2));
      backlogAtCrash = await pod.backlogOf(wanted, BACKLOG_WAIT_MS);
      crashedAt = Date.now();
      await pod.redis.process.kill();
      exit = await pod.redis.process.exited;
      await sleep(crashedAt + options.redisDownSeconds * 1000 - Date.now());
      await pod.restartRedis();
      backAt = Date.now();
      backlogAfterRestart = await pod.backlogOnceLoaded(LOADING_TIMEOUT_MS);
    } finally {
      kafkastore.signal('SIGCONT');
    }
    const newPid = pod.redis.process.pid;
    ctx.log(
      `redis-restart: ${backlogAtCrash} events waiting at the kill, ${backlogAfterRestart} after the restart (pid ${oldPid} -> ${newPid})`,
    );

    return {
      faults: [
        { what: `Redis SIGKILLed, back after ${options.redisDownSeconds} s`, startedAt: crashedAt, endedAt: backAt },
      ],
      evaluate: ({ load }) => ({
        evidence: {
          backlogAtCrash,
          backlogAfterRestart,
          redisDownMs: backAt - crashedAt,
          refusedOrFailed: load.refused + load.failed,
        },
        checks: [
          {
            name: 'Redis was really killed and replaced',
            ok: exit === 'SIGKILL' && newPid !== oldPid,
            detail: `exit ${exit}, pid ${oldPid} -> ${newPid}`,
          },
          {
            name: 'events waiting in Redis survived the restart (AOF replayed)',
            ok: backlogAtCrash > 0 && backlogAfterRestart >= backlogAtCrash,
            detail: `${backlogAtCrash} waiting before the kill, ${backlogAfterRestart < 0 ? 'Redis not answering' : backlogAfterRestart} right after the restart`,
          },
          {
            name: 'tracker and kafkastore recovered without a restart',
            ok: pod.tracker.alive && kafkastore.alive && pod.kafkastoreRuns.length === 1,
            detail: `tracker ${pod.tracker.alive ? 'alive' : 'gone'}, kafkastore ${kafkastore.alive ? 'alive' : 'gone'}`,
          },
        ],
      }),
    };
  },
};
