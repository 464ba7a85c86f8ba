import { freePort } from '@pushtech/devstack';
import type { ScenarioDefinition } from '../scenario.js';
import { warmupSeconds } from '../scenario.js';

/** Longest a refused second kafkastore may take: its start, then two renewal periods of the first. */
const REFUSAL_TIMEOUT_MS = 30_000;
/** Seconds the second one gets (the negative control lets it drain beside the first this long). */
const OVERLAP_SECONDS = 6;
/** Longest the control's second kafkastore may take to be ready before its overlap starts. */
const SECOND_READY_TIMEOUT_MS = 60_000;

export const twoKafkastores: ScenarioDefinition = {
  name: 'two-kafkastores',
  title: 'a second kafkastore with the same instance name on one list',
  description:
    'Under load a second kafkastore is started with the pod kafkastore’s KAFKASTORE_INSTANCE, so both would ' +
    'drain one processing list (issue 19: 16,500 duplicates per 20,000 entries). It must refuse (exit 1, ' +
    'PT_ERR_LEASE_HELD) while the first keeps draining; with no crash, no event may arrive twice. The negative ' +
    'control (secondKafkastoreLease: false) starts it with KAFKASTORE_LEASE=false and must show the duplicates.',
  recoveryDefinition: 'none: nothing fails, the first kafkastore keeps draining',
  ownBroker: false,
  minDurationSeconds: (o) => warmupSeconds(o) + OVERLAP_SECONDS + 2,

  async inject(ctx) {
    const { options, pod } = ctx;
    const first = pod.kafkastore;
    if (!first) throw new Error('two-kafkastores: no kafkastore is running');
    await ctx.at(warmupSeconds(options));

    const startedAt = Date.now();
    const second = pod.startKafkastore({
      opsPort: await freePort(),
      env: options.secondKafkastoreLease ? {} : { KAFKASTORE_LEASE: 'false' },
    });
    let timer: NodeJS.Timeout | undefined;
    const sleep = (ms: number): Promise<undefined> =>
      new Promise((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      });
    // The control's overlap counts from the second one's readiness: on a loaded machine its start
    // alone can take longer than the overlap, and then it would have drained nothing.
    const timeout = options.secondKafkastoreLease
      ? sleep(REFUSAL_TIMEOUT_MS)
      : second.waitReady(SECOND_READY_TIMEOUT_MS).then(
          () => sleep(OVERLAP_SECONDS * 1000),
          () => undefined,
        );
    const exit = await Promise.race([second.exited, timeout]);
    clearTimeout(timer);
    const endedAt = Date.now();
    // The negative control's second one drains beside the first until here; stopped as a pod would stop it.
    if (exit === undefined) await second.stop(30_000);
    const refusal = second.recentOutput();
    ctx.log(`two-kafkastores: second exited ${exit ? String(exit.code ?? exit.signal) : 'no (stopped)'}`);

    return {
      faults: [{ what: 'second kafkastore, same KAFKASTORE_INSTANCE', startedAt, endedAt, recovers: false }],
      evaluate: ({ seen }) => {
        let duplicates = 0;
        for (const sighting of seen.values()) duplicates += sighting.count - 1;
        return {
          evidence: {
            secondExitCode: exit?.code ?? -1,
            secondRanMs: endedAt - startedAt,
            duplicates,
          },
          checks: [
            {
              name: 'the second kafkastore refused to start, naming KAFKASTORE_INSTANCE',
              ok: exit?.code === 1 && /KAFKASTORE_INSTANCE=\S+ is in use/.test(refusal),
              detail: exit ? `exit ${String(exit.code ?? exit.signal)} after ${endedAt - startedAt} ms` : 'still ran',
            },
            {
              name: 'the first kafkastore kept draining',
              ok: first.alive && pod.kafkastore === first,
              detail: first.alive ? 'alive' : 'exited',
            },
            {
              name: 'no event arrived twice (no process crashed)',
              ok: duplicates === 0,
              detail: `${duplicates} duplicates`,
            },
          ],
        };
      },
    };
  },
};
