import type { ScenarioDefinition } from '../scenario.js';
import { warmupSeconds } from '../scenario.js';

/** Longer than the services' own shutdown timeout (SHUTDOWN_TIMEOUT_MS, 25 s by default). */
const EXIT_TIMEOUT_MS = 40_000;

export const podScaleDown: ScenarioDefinition = {
  name: 'pod-scale-down',
  title: 'Pod scaled down (SIGTERM) mid-load',
  description:
    'Mid-load, tracker and kafkastore (drain on exit) get SIGTERM together, as Kubernetes sends it; Redis stays ' +
    'up until kafkastore has exited (native sidecar), then is stopped. The load keeps firing at the dead pod.',
  recoveryDefinition:
    'not applicable (the pod is gone for good); the drain time, SIGTERM until kafkastore exited, is in the evidence',
  ownBroker: false,
  minDurationSeconds: (o) => warmupSeconds(o) + 3,

  async inject(ctx) {
    const { options, pod } = ctx;
    const kafkastore = pod.kafkastore;
    if (!kafkastore) throw new Error('pod-scale-down: no kafkastore is running');
    await ctx.at(Math.max(warmupSeconds(options), options.durationSeconds * 0.4));

    const backlogAtSigterm = (await pod.backlog()) ?? 0;
    const sigtermAt = Date.now();
    pod.tracker.signal('SIGTERM');
    kafkastore.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const [trackerExit, kafkastoreExit] = await Promise.race([
      Promise.all([pod.tracker.exited, kafkastore.exited]),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(`pod-scale-down: tracker or kafkastore still running ${EXIT_TIMEOUT_MS} ms after SIGTERM`),
            ),
          EXIT_TIMEOUT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    // The sidecar's Redis lives until kafkastore is gone; what it still holds now dies with the pod.
    const leftInRedis = await pod.backlog();
    await pod.redis.stop();
    ctx.log(
      `pod-scale-down: kafkastore exited ${kafkastoreExit.at - sigtermAt} ms after SIGTERM (code ${kafkastoreExit.code}), ` +
        `tracker after ${trackerExit.at - sigtermAt} ms (code ${trackerExit.code}); ${leftInRedis ?? '?'} left in Redis`,
    );

    return {
      faults: [
        {
          what: 'SIGTERM to tracker and kafkastore',
          startedAt: sigtermAt,
          endedAt: kafkastoreExit.at,
          recovers: false,
        },
      ],
      evaluate: ({ acks, load }) => ({
        evidence: {
          drainMs: kafkastoreExit.at - sigtermAt,
          trackerStopMs: trackerExit.at - sigtermAt,
          backlogAtSigterm,
          ackedBeforeSigterm: acks.countBetween(0, sigtermAt),
          ackedAfterSigterm: acks.countBetween(sigtermAt, Number.POSITIVE_INFINITY),
          failedAfterScaleDown: load.failed,
        },
        checks: [
          {
            name: 'tracker and kafkastore exited 0',
            ok: trackerExit.code === 0 && kafkastoreExit.code === 0,
            detail: `tracker ${trackerExit.code ?? trackerExit.signal}, kafkastore ${kafkastoreExit.code ?? kafkastoreExit.signal}`,
          },
          {
            name: 'Redis was empty when kafkastore exited',
            ok: leftInRedis === 0,
            detail: `${leftInRedis ?? 'unknown (Redis did not answer)'} events left`,
          },
          {
            name: 'events were acknowledged before the SIGTERM, and the load kept firing at the dead pod',
            ok: acks.countBetween(0, sigtermAt) > 0 && load.failed > 0,
            detail: `${acks.countBetween(0, sigtermAt)} acknowledged before, ${load.failed} requests failed after the pod was gone`,
          },
        ],
      }),
    };
  },
};
