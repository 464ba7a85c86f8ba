import type { ScenarioDefinition } from '../scenario.js';
import { warmupSeconds } from '../scenario.js';

/** Seconds of traffic after the last kill, so its recovery can be measured. */
const TAIL_SECONDS = 3;

interface Kill {
  readonly killedAt: number;
  readonly exitSignal: string | null;
  /** Entries the killed process had taken and not yet seen acknowledged: its replacement re-produces them. */
  readonly leftInFlight: number;
  readonly restartedAt: number;
  readonly readyAt: number;
}

export const kafkastoreKill: ScenarioDefinition = {
  name: 'kafkastore-kill',
  title: 'kafkastore SIGKILLed every few seconds',
  description:
    'kafkastore gets SIGKILL at random moments (every 0.5-1.5 x killEverySeconds after it was ready) and is ' +
    'restarted at once with the same instance name; the tracker keeps accepting into Redis meanwhile.',
  recoveryDefinition:
    'from the replacement process being started until the first event acknowledged after that moment was ' +
    'appended to Kafka (boot, replay of the killed batch, backlog)',
  ownBroker: false,
  minDurationSeconds: (o) => warmupSeconds(o) + 1.5 * o.killEverySeconds + TAIL_SECONDS,

  async inject(ctx) {
    const { options, pod } = ctx;
    const lastKillBy = options.durationSeconds - TAIL_SECONDS;
    const kills: Kill[] = [];
    let next = warmupSeconds(options) + options.killEverySeconds * ctx.random();
    while (next <= lastKillBy) {
      await ctx.at(next);
      const victim = pod.kafkastore;
      if (!victim) throw new Error('kafkastore-kill: no kafkastore is running');
      const killedAt = Date.now();
      victim.signal('SIGKILL');
      const exit = await victim.exited;
      const leftInFlight = (await pod.inFlight()) ?? 0;
      const replacement = pod.startKafkastore();
      const readyAt = await replacement.waitReady(60_000);
      kills.push({ killedAt, exitSignal: exit.signal, leftInFlight, restartedAt: replacement.startedAt, readyAt });
      next = (Date.now() - ctx.loadStartedAt) / 1000 + options.killEverySeconds * (0.5 + ctx.random());
    }
    ctx.log(`kafkastore-kill: ${kills.length} kills`);

    return {
      faults: kills.map((k) => ({ what: 'SIGKILL kafkastore', startedAt: k.killedAt, endedAt: k.restartedAt })),
      evaluate: ({ acks }) => {
        const ackedWhileDown = kills.reduce((n, k) => n + acks.countBetween(k.killedAt, k.readyAt), 0);
        const signals = kills.map((k) => k.exitSignal ?? 'exit');
        return {
          evidence: {
            kills: kills.length,
            ackedWhileKafkastoreDown: ackedWhileDown,
            downMsTotal: kills.reduce((ms, k) => ms + (k.readyAt - k.killedAt), 0),
            killsWithABatchInFlight: kills.filter((k) => k.leftInFlight > 0).length,
            entriesLeftInFlight: kills.reduce((n, k) => n + k.leftInFlight, 0),
          },
          checks: [
            {
              name: 'kafkastore was really SIGKILLed',
              ok: kills.length > 0 && signals.every((s) => s === 'SIGKILL'),
              detail: `${kills.length} kills, exits: ${[...new Set(signals)].join(', ') || 'none'}`,
            },
            {
              name: 'events were acknowledged while kafkastore was down',
              ok: ackedWhileDown > 0,
              detail: `${ackedWhileDown} acknowledged between a kill and the replacement being ready`,
            },
          ],
        };
      },
    };
  },
};
