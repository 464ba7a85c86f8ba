import { isListening } from '@pushtech/devstack';
import type { ScenarioDefinition } from '../scenario.js';
import { warmupSeconds } from '../scenario.js';
import { sleep } from '../sleep.js';

/** A broker restart takes several seconds; after it, traffic must still run to measure recovery. */
const RESTART_AND_TAIL_SECONDS = 12;

export const kafkaOutage: ScenarioDefinition = {
  name: 'kafka-outage',
  title: 'Kafka broker stopped, then restarted',
  description:
    'The broker (its own, single node) is stopped cleanly for kafkaOutageSeconds and started again on the same ' +
    'ports and data; the tracker keeps accepting into Redis, kafkastore retries without taking anything new.',
  recoveryDefinition:
    'from the broker answering again until the first event acknowledged after that moment was appended to ' +
    'Kafka (reconnect, retry backoff, the backlog piled up in Redis)',
  ownBroker: true,
  minDurationSeconds: (o) => warmupSeconds(o) + o.kafkaOutageSeconds + RESTART_AND_TAIL_SECONDS,

  async inject(ctx) {
    const { options, pod } = ctx;
    const broker = ctx.broker;
    if (!broker) throw new Error('kafka-outage: the scenario needs a broker of its own');
    await ctx.at(warmupSeconds(options));
    // Recovery is measured by the broker's append times, so the auditor may stop reading meanwhile.
    await ctx.auditor.pause();
    const stoppedAt = Date.now();
    await broker.stop();
    const portClosed = !(await isListening(broker.port));
    ctx.log(`kafka-outage: broker stopped in ${Date.now() - stoppedAt} ms; down for ${options.kafkaOutageSeconds} s`);
    const resumeAt = stoppedAt + options.kafkaOutageSeconds * 1000;
    let backlogMax = 0;
    while (Date.now() < resumeAt) {
      backlogMax = Math.max(backlogMax, (await pod.backlog()) ?? 0);
      await sleep(Math.min(250, resumeAt - Date.now()));
    }
    await broker.resume();
    const backAt = Date.now();
    ctx.log(`kafka-outage: broker answering again after ${((backAt - stoppedAt) / 1000).toFixed(1)} s`);
    await ctx.auditor.resume();

    return {
      faults: [
        { what: `Kafka broker stopped for ${options.kafkaOutageSeconds} s`, startedAt: stoppedAt, endedAt: backAt },
      ],
      evaluate: ({ acks }) => {
        const ackedDuringOutage = acks.countBetween(stoppedAt, backAt);
        const kafkastore = pod.kafkastore;
        return {
          evidence: {
            brokerDownMs: backAt - stoppedAt,
            ackedDuringOutage,
            backlogMaxDuringOutage: backlogMax,
          },
          checks: [
            {
              name: 'the broker was really down',
              ok: portClosed,
              detail: portClosed ? `port ${broker.port} closed after the stop` : `port ${broker.port} still open`,
            },
            {
              name: 'acknowledged events waited in Redis during the outage',
              ok: ackedDuringOutage > 0 && backlogMax > 0,
              detail: `${ackedDuringOutage} acknowledged during the outage, up to ${backlogMax} waiting in Redis`,
            },
            {
              name: 'the same kafkastore process recovered by itself',
              ok: pod.kafkastoreRuns.length === 1 && kafkastore?.alive === true,
              detail: `${pod.kafkastoreRuns.length} kafkastore process(es), ${kafkastore?.alive ? 'alive' : 'not running'}`,
            },
          ],
        };
      },
    };
  },
};
