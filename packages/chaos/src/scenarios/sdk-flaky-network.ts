import { randomBytes } from 'node:crypto';
import { createEventIdGenerator } from '@pushtech/event';
import { createClient, type Client } from '@pushtech/sdk';
import { auditDeviceIds, copiesById, dedupCounts, topicEvents } from '../device-audit.js';
import { startFlakyProxy, type FlakyNetwork } from '../flaky-proxy.js';
import type { ScenarioDefinition } from '../scenario.js';
import { warmupSeconds } from '../scenario.js';
import { readWholeTopic } from '../topic-reader.js';

/** Seconds of load after the devices stopped tracking: they empty their queues meanwhile. */
const TAIL_SECONDS = 3;
/** The longest the devices get to empty their queues once the network healed. */
const FLUSH_TIMEOUT_MS = 60_000;
/** Events a device tracks and never sends (the negative control: the audit must miss them). */
const CONTROL_EVENTS = 10;

const network: FlakyNetwork = { dropShare: 0.1, resetShare: 0.1, delayShare: 0.1, delayMs: 700 };

const deviceOptions = {
  flushIntervalMs: 200,
  maxBatch: 20,
  // The devices never give up during the run: every event must arrive.
  maxRetries: 1_000,
  retryBaseMs: 100,
  retryMaxMs: 2_000,
  timeoutMs: 1_000,
};

/** Many devices for a high rate, a few for a low one; half the rate comes from them. */
function deviceCount(rate: number): number {
  return Math.max(4, Math.min(64, Math.round(rate / 20)));
}

interface Kill {
  readonly killedAt: number;
  readonly exitSignal: string | null;
  readonly restartedAt: number;
}

export const sdkFlakyNetwork: ScenarioDefinition = {
  name: 'sdk-flaky-network',
  title: 'SDK clients through a flaky network while kafkastore is killed',
  description:
    'Besides the load, many SDK clients (ids minted on the device, batches to POST /t, retried with the same ids) ' +
    'send half the rate through a TCP proxy that drops 10 % of new connections, resets the connection instead of ' +
    'passing 10 % of the answers (the request was sent, the answer is lost) and delays 10 % by 700 ms, while ' +
    'kafkastore is SIGKILLed every 0.5-1.5 x killEverySeconds. Every id minted must reach Kafka at least once, and ' +
    "the consumer kit's dedup must count each exactly once.",
  recoveryDefinition:
    'from the replacement kafkastore being started until the first event the load generator got acknowledged ' +
    'after that moment was appended to Kafka',
  ownBroker: false,
  minDurationSeconds: (o) => warmupSeconds(o) + 1.5 * o.killEverySeconds + TAIL_SECONDS,

  async inject(ctx) {
    const { options, pod } = ctx;
    const trackerUrl = new URL(pod.trackerUrl);
    const proxy = await startFlakyProxy(
      { host: trackerUrl.hostname, port: Number(trackerUrl.port) },
      network,
      ctx.random,
    );
    const devices: Client[] = [];
    const minted: string[] = [];
    const controlIds: string[] = [];
    const kills: Kill[] = [];
    let tracking: NodeJS.Timeout | undefined;
    try {
      const count = deviceCount(options.rate);
      for (let i = 0; i < count; i++)
        devices.push(createClient({ endpoint: proxy.url, storage: null, ...deviceOptions }));
      // The control: ids minted on a device whose events never leave it (an app killed before
      // its first flush, without a persistent queue).
      const mintOnControlDevice = createEventIdGenerator();
      for (let i = 0; i < CONTROL_EVENTS; i++) controlIds.push(mintOnControlDevice());
      const run = randomBytes(3).toString('hex');

      // Half the rate, spread over the devices, 10 ticks a second.
      const perTick = options.rate / 2 / 10;
      let owed = 0;
      let n = 0;
      tracking = setInterval(() => {
        owed += perTick;
        for (; owed >= 1; owed -= 1, n++) {
          const device = devices[n % devices.length];
          if (device) minted.push(device.track('sdk_event', { rid: `sdk-${run}-${n}`, device: n % devices.length }));
        }
      }, 100);

      const stopTrackingAt = options.durationSeconds - TAIL_SECONDS;
      let next = warmupSeconds(options) + options.killEverySeconds * ctx.random();
      while (next <= stopTrackingAt) {
        await ctx.at(next);
        const victim = pod.kafkastore;
        if (!victim) throw new Error('sdk-flaky-network: no kafkastore is running');
        const killedAt = Date.now();
        victim.signal('SIGKILL');
        const exit = await victim.exited;
        const replacement = pod.startKafkastore();
        await replacement.waitReady(60_000);
        kills.push({ killedAt, exitSignal: exit.signal, restartedAt: replacement.startedAt });
        next = (Date.now() - ctx.loadStartedAt) / 1000 + options.killEverySeconds * (0.5 + ctx.random());
      }
      await ctx.at(stopTrackingAt);
      clearInterval(tracking);
      tracking = undefined;
      // The network heals; every device must then empty its queue. A flush that failed leaves
      // the retry to the client's timer: flush again until the queue is empty.
      proxy.heal();
      const deadline = Date.now() + FLUSH_TIMEOUT_MS;
      let pending = [...devices];
      while (pending.length > 0 && Date.now() < deadline) {
        const flushed = await Promise.all(pending.map((d) => d.flush()));
        pending = pending.filter((_, i) => !flushed[i]);
        if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (pending.length > 0)
        ctx.log(`sdk-flaky-network: ${pending.length} devices not flushed after ${FLUSH_TIMEOUT_MS} ms`);
    } finally {
      if (tracking) clearInterval(tracking);
      await Promise.allSettled(devices.map((d) => d.shutdown()));
      await proxy.close();
    }
    const stats = devices.map((d) => d.stats());
    const proxyStats = { ...proxy.stats };
    ctx.log(
      `sdk-flaky-network: ${devices.length} devices minted ${minted.length}; proxy ${JSON.stringify(proxyStats)}; ${kills.length} kills`,
    );

    return {
      faults: kills.map((k) => ({ what: 'SIGKILL kafkastore', startedAt: k.killedAt, endedAt: k.restartedAt })),
      evaluate: async () => {
        const { brokers, topics } = pod.options;
        const events = topicEvents(await readWholeTopic(brokers, topics.topic, 120_000));
        const copies = copiesById(events);
        const counted = await dedupCounts(events);
        const audit = auditDeviceIds(minted, copies, counted);
        // Negative controls: the same audit over the control device's ids too must see exactly
        // them missing; and counted without dedup, the retries' copies count again.
        const withControl = auditDeviceIds([...minted, ...controlIds], copies, counted);
        const withoutDedup = auditDeviceIds(minted, copies, copies);
        const mintedSet = new Set(minted);
        const deviceEvents = events.filter((e) => mintedSet.has(e.id));
        const badMeta = deviceEvents.filter(
          (e) =>
            e.meta.idSource !== 'client' ||
            e.meta.createdAt === undefined ||
            e.meta.sentAt === undefined ||
            e.meta.eventTime === undefined ||
            e.meta.createdAt > e.meta.sentAt ||
            e.meta.eventTime > e.meta.ts,
        ).length;
        const sum = (key: 'sent' | 'dropped' | 'retries' | 'queued'): number =>
          stats.reduce((total, s) => total + s[key], 0);
        const signals = kills.map((k) => k.exitSignal ?? 'exit');
        return {
          evidence: {
            devices: devices.length,
            deviceEventsMinted: audit.minted,
            deviceEventsMissing: audit.missing,
            deviceDuplicatesInKafka: audit.duplicates,
            deviceEventsMiscounted: audit.miscounted,
            deviceRetries: sum('retries'),
            deviceDropped: sum('dropped'),
            deviceQueuedAtEnd: sum('queued'),
            proxyConnections: proxyStats.connections,
            proxyDropped: proxyStats.dropped,
            proxyResetAfterSend: proxyStats.resetAfterSend,
            proxyDelayed: proxyStats.delayed,
            kills: kills.length,
            controlMissing: withControl.missing,
            controlOverCounted: withoutDedup.miscounted,
          },
          checks: [
            {
              name: 'every id the devices minted is in Kafka',
              ok: audit.minted > 0 && audit.missing === 0,
              detail: `${audit.minted - audit.missing} of ${audit.minted}${audit.missing > 0 ? `; missing e.g. ${audit.missingSample.join(', ')}` : ''}`,
            },
            {
              name: "the consumer kit's dedup counts each device event exactly once",
              ok: audit.minted > 0 && audit.miscounted === 0,
              detail:
                `${audit.minted - audit.miscounted} of ${audit.minted} counted once, over ${audit.duplicates} duplicate messages` +
                (audit.miscounted > 0 ? `; e.g. ${audit.miscountedSample.join(', ')}` : ''),
            },
            {
              name: 'retries put duplicates into Kafka (what dedup had to remove)',
              ok: audit.duplicates > 0,
              detail: `${audit.duplicates} extra copies of device events; ${sum('retries')} retries`,
            },
            {
              name: 'no device gave an event up, and every queue emptied',
              ok: sum('dropped') === 0 && sum('queued') === 0,
              detail: `${sum('dropped')} dropped, ${sum('queued')} still queued, ${sum('sent')} sent`,
            },
            {
              name: 'every device event carries id_src=client, ct <= st and ets <= ts',
              ok: deviceEvents.length > 0 && badMeta === 0,
              detail: `${badMeta} of ${deviceEvents.length} messages without them`,
            },
            {
              name: 'the network dropped connections, lost answers after the request was sent, and delayed answers',
              ok: proxyStats.dropped > 0 && proxyStats.resetAfterSend > 0 && proxyStats.delayed > 0,
              detail: `${proxyStats.dropped} dropped, ${proxyStats.resetAfterSend} reset after send, ${proxyStats.delayed} delayed of ${proxyStats.connections} connections`,
            },
            {
              name: 'kafkastore was really SIGKILLed',
              ok: kills.length > 0 && signals.every((s) => s === 'SIGKILL'),
              detail: `${kills.length} kills, exits: ${[...new Set(signals)].join(', ') || 'none'}`,
            },
            {
              name: 'control: the audit sees device events that never left the device',
              ok: withControl.missing === audit.missing + CONTROL_EVENTS,
              detail: `${withControl.missing - audit.missing} of ${CONTROL_EVENTS} unsent events reported missing`,
            },
            {
              name: 'control: counted without dedup, the duplicates show',
              ok: withoutDedup.miscounted > 0,
              detail: `${withoutDedup.miscounted} device events counted more than once without dedup`,
            },
          ],
        };
      },
    };
  },
};
