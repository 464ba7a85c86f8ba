import { fillFilesystem, stallAofFsync, type FilledFilesystem } from '@pushtech/devstack';
import type { ScenarioDefinition } from '../scenario.js';
import { warmupSeconds } from '../scenario.js';
import { sleep } from '../sleep.js';

/** Longest wait for a backlog to build up in Redis before the pressure starts. */
const BACKLOG_WAIT_MS = 3_000;
/** How long Redis serves the load on a full disk with its fsync stalled before the SIGKILL. */
const PRESSURE_MS = 1_000;
const LOADING_TIMEOUT_MS = 10_000;
const MIB = 1024 * 1024;

export const redisDiskPressure: ScenarioDefinition = {
  name: 'redis-disk-pressure',
  title: 'Redis SIGKILLed under disk pressure (fsync stalled, disk full)',
  description:
    "The pod's Redis keeps its AOF on a small filesystem of its own (a tmpfs; needs root). kafkastore is paused " +
    "(SIGSTOP) until acknowledged events wait in Redis; then Redis's background fsync thread is frozen (a disk too " +
    'busy to finish an fsync) and its filesystem filled to the last page. The load runs on for a second, Redis is ' +
    'SIGKILLed (unless it already exited on the write error), restarted after redisDownSeconds with the space given ' +
    'back, and kafkastore resumed. With appendfsync everysec this loses events Redis had answered; every ' +
    'acknowledged event must reach Kafka.',
  recoveryDefinition:
    'from Redis answering again until the first event acknowledged after that moment was appended to Kafka ' +
    '(tracker and kafkastore reconnecting, the replayed backlog)',
  ownBroker: false,
  // Room for the AOF of the whole run (about 1 KB of AOF per event: the push, kafkastore's move and
  // removal) and its rewrite; only filled during the fault.
  redisDiskBytes: (o) => Math.min(512 * MIB, Math.max(32 * MIB, o.rate * o.durationSeconds * 2048)),
  minDurationSeconds: (o) => warmupSeconds(o) + (BACKLOG_WAIT_MS + PRESSURE_MS) / 1000 + o.redisDownSeconds + 4,

  async inject(ctx) {
    const { options, pod } = ctx;
    const kafkastore = pod.kafkastore;
    if (!kafkastore) throw new Error('redis-disk-pressure: no kafkastore is running');
    await ctx.at(warmupSeconds(options));

    kafkastore.signal('SIGSTOP');
    let backlogBefore = 0;
    let backlogAfterRestart = 0;
    let pressureAt = 0;
    let crashedAt = 0;
    let backAt = 0;
    let exit: number | string = 0;
    let filled: FilledFilesystem | undefined;
    let resumeFsync: (() => void) | undefined;
    const oldPid = pod.redis.process.pid;
    try {
      const wanted = Math.max(20, Math.round(options.rate / 2));
      backlogBefore = await pod.backlogOf(wanted, BACKLOG_WAIT_MS);

      resumeFsync = stallAofFsync(oldPid);
      filled = fillFilesystem(pod.redisDir);
      pressureAt = Date.now();
      await sleep(PRESSURE_MS);

      crashedAt = Date.now();
      // appendfsync always exits on the first write that does not fit: then there is nothing to kill.
      if (!pod.redis.process.hasExited) process.kill(oldPid, 'SIGKILL');
      // A process with a frozen thread cannot finish dying.
      resumeFsync();
      exit = await pod.redis.process.exited;
      filled.release();
      await sleep(crashedAt + options.redisDownSeconds * 1000 - Date.now());
      await pod.restartRedis();
      backAt = Date.now();
      backlogAfterRestart = await pod.backlogOnceLoaded(LOADING_TIMEOUT_MS);
    } finally {
      resumeFsync?.();
      filled?.release();
      kafkastore.signal('SIGCONT');
    }
    const newPid = pod.redis.process.pid;
    const fillerBytes = filled.bytes;
    const freeAfterFill = filled.freeAfter;
    ctx.log(
      `redis-disk-pressure: ${backlogBefore} events waiting before the pressure, ${backlogAfterRestart} after the ` +
        `restart; ${Math.round(fillerBytes / MIB)} MiB filler, Redis exit ${exit} (pid ${oldPid} -> ${newPid})`,
    );

    return {
      faults: [
        {
          what: `Redis under disk pressure for ${PRESSURE_MS} ms, SIGKILLed, back after ${options.redisDownSeconds} s`,
          startedAt: pressureAt,
          endedAt: backAt,
        },
      ],
      evaluate: ({ acks, load }) => ({
        evidence: {
          backlogBefore,
          backlogAfterRestart,
          ackedUnderPressure: acks.countBetween(pressureAt, crashedAt),
          fillerMiB: Math.round(fillerBytes / MIB),
          redisExitedOnWriteError: exit === 1 ? 1 : 0,
          redisDownMs: backAt - crashedAt,
          refusedOrFailed: load.refused + load.failed,
        },
        checks: [
          {
            name: "Redis's disk was full and its fsync thread stalled",
            ok: freeAfterFill === 0 && fillerBytes > 0,
            detail: `${Math.round(fillerBytes / MIB)} MiB written until ENOSPC, ${freeAfterFill} bytes left`,
          },
          {
            name: 'Redis was killed (or exited on the write error) and replaced',
            ok: (exit === 'SIGKILL' || exit === 1) && newPid !== oldPid,
            detail: `exit ${exit}, pid ${oldPid} -> ${newPid}`,
          },
          {
            name: 'events waiting before the pressure survived the restart (AOF replayed)',
            ok: backlogBefore > 0 && backlogAfterRestart >= backlogBefore,
            detail: `${backlogBefore} waiting before, ${backlogAfterRestart < 0 ? 'Redis not answering' : backlogAfterRestart} right after the restart`,
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
