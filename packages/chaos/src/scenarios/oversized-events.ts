import { encodeRawHit, newEventId } from '@pushtech/event';
import { createAdmin, silentLogger } from '@pushtech/runtime';
import { redisCommand } from '../redis-command.js';
import type { ScenarioDefinition } from '../scenario.js';
import { warmupSeconds } from '../scenario.js';
import { sleep } from '../sleep.js';

/** The topics' max.message.bytes once lowered (kafkastore read the broker's 1 MB at start). */
const LOWERED_BYTES = 64 * 1024;
/** Fit the lowered topic alone; several with one key (one partition) do not fit one batch. */
const LARGE_BYTES = 30_000;
/** Too large for the lowered topic and for the lowered dead-letter topic: kept whole in Redis. */
const OVERSIZED_BYTES = 100_000;
const ROUNDS = 3;
const LARGE_PER_ROUND = 4;
const OVERSIZED_PER_ROUND = 2;
/** Seconds of normal traffic after the last injection. */
const TAIL_SECONDS = 3;
const PARK_TIMEOUT_MS = 30_000;

interface Injected {
  readonly rid: string;
  readonly entry: string;
}

/**
 * An entry as an older tracker (one without the 413) would have stored and acknowledged it.
 * The request id comes last, after the padding: a copy cut short anywhere loses it, so the
 * audit would count it as a message without a request id, never as this event.
 */
function injected(kind: string, deviceid: string, bytes: number): Injected {
  const rid = `${kind}-${newEventId()}`;
  const entry = encodeRawHit({
    id: newEventId(),
    ts: Date.now(),
    ip: '127.0.0.1',
    host: 'chaos.example',
    pod: 'chaos-pod',
    type: kind,
    params: `deviceid=${deviceid}&pad=${'x'.repeat(bytes)}&rid=${rid}`,
    ua: '',
  });
  return { rid, entry };
}

function list(reply: unknown): string[] {
  return Array.isArray(reply) ? reply.filter((e): e is string => typeof e === 'string') : [];
}

/** The injected entries not found, byte for byte, among `kept`. */
function unaccounted(entries: readonly Injected[], kept: readonly string[]): Injected[] {
  const whole = new Set(kept);
  return entries.filter((e) => !whole.has(e.entry));
}

export const oversizedEvents: ScenarioDefinition = {
  name: 'oversized-events',
  title: 'oversized events under load',
  description:
    "Both topics' max.message.bytes are lowered to 64 KiB while kafkastore still counts with the 1 MB it read at " +
    'start (a changed topic); then, among the normal load, entries an older tracker acknowledged are pushed into ' +
    'Redis: 30 KB events with one key (too many for one record batch) and 100 KB events (too large for both topics).',
  recoveryDefinition:
    'from the last oversized entry being pushed until the first event acknowledged after that moment was ' +
    'appended to Kafka (the queue did not stall behind them)',
  ownBroker: false,
  minDurationSeconds: (o) => warmupSeconds(o) + ROUNDS + TAIL_SECONDS,

  async inject(ctx) {
    const { pod, options } = ctx;
    const { brokers, topics } = pod.options;
    const admin = createAdmin({ brokers: [brokers], clientId: 'chaos-oversized-admin' }, silentLogger());
    await admin.connect();
    try {
      for (const topic of [topics.topic, topics.deadLetterTopic]) {
        await admin.alterTopicConfig(topic, { 'max.message.bytes': String(LOWERED_BYTES) });
      }
    } finally {
      await admin.disconnect();
    }
    const oversizedKey = `${pod.queueKeys[0]}:oversized`;
    const large: Injected[] = [];
    const oversized: Injected[] = [];
    const window = options.durationSeconds - TAIL_SECONDS - warmupSeconds(options);
    let lastPushAt = Date.now();
    for (let round = 0; round < ROUNDS; round += 1) {
      await ctx.at(warmupSeconds(options) + (window * round) / ROUNDS);
      const entries: Injected[] = [];
      for (let i = 0; i < LARGE_PER_ROUND; i += 1) entries.push(injected('large', `same-${round}`, LARGE_BYTES));
      for (let i = 0; i < OVERSIZED_PER_ROUND; i += 1)
        entries.push(injected('oversized', `same-${round}`, OVERSIZED_BYTES));
      await redisCommand(pod.redisUrl, ['LPUSH', pod.queueKeys[0], ...entries.map((e) => e.entry)]);
      lastPushAt = Date.now();
      // The tracker's 2xx: the large ones must arrive, like any acknowledged event.
      ctx.acks.add(
        entries.filter((e) => e.rid.startsWith('large-')).map((e) => e.rid),
        lastPushAt,
      );
      large.push(...entries.filter((e) => e.rid.startsWith('large-')));
      oversized.push(...entries.filter((e) => e.rid.startsWith('oversized-')));
    }

    // Negative control: one more oversized entry, removed from the oversized list once it is
    // there, as a pipeline that dropped it would have. The same check must report it missing.
    const control = injected('oversized-control', 'control', OVERSIZED_BYTES);
    await redisCommand(pod.redisUrl, ['LPUSH', pod.queueKeys[0], control.entry]);
    const deadline = Date.now() + PARK_TIMEOUT_MS;
    let kept: string[] = [];
    while (Date.now() < deadline) {
      kept = list(await redisCommand(pod.redisUrl, ['LRANGE', oversizedKey, 0, -1]));
      if (unaccounted([...oversized, control], kept).length === 0) break;
      await sleep(200);
    }
    const controlParked = unaccounted([control], kept).length === 0;
    await redisCommand(pod.redisUrl, ['LREM', oversizedKey, 0, control.entry]);
    kept = list(await redisCommand(pod.redisUrl, ['LRANGE', oversizedKey, 0, -1]));
    const missing = unaccounted(oversized, kept);
    const controlMissing = unaccounted([control], kept).length;
    const cut = kept.filter((entry) => !oversized.some((e) => e.entry === entry));
    ctx.log(
      `oversized-events: ${large.length} large and ${oversized.length} oversized pushed; ` +
        `${oversized.length - missing.length} kept whole, control ${controlMissing === 1 ? 'seen missing' : 'NOT seen missing'}`,
    );

    return {
      faults: [
        { what: 'topics lowered to 64 KiB, oversized entries pushed', startedAt: lastPushAt, endedAt: lastPushAt },
      ],
      evaluate: ({ acks, seen }) => {
        let duplicated = 0;
        for (const rid of acks.ids()) duplicated += Math.max(0, (seen.get(rid)?.count ?? 0) - 1);
        const largeOnce = large.filter((e) => seen.get(e.rid)?.count === 1).length;
        const oversizedInTopic = oversized.filter((e) => seen.has(e.rid)).length;
        return {
          evidence: {
            largeInjected: large.length,
            largeDeliveredOnce: largeOnce,
            oversizedInjected: oversized.length,
            oversizedKeptWhole: oversized.length - missing.length,
            duplicated,
            controlMissing,
          },
          checks: [
            {
              name: 'no acknowledged event was sent twice (no process crashed)',
              ok: duplicated === 0,
              detail: `${duplicated} extra copies`,
            },
            {
              name: 'large events with one key each arrived exactly once',
              ok: largeOnce === large.length,
              detail: `${largeOnce} of ${large.length}`,
            },
            {
              name: 'oversized events are kept whole in the oversized list, none cut, none in the topic',
              ok: missing.length === 0 && cut.length === 0 && oversizedInTopic === 0,
              detail:
                `${oversized.length - missing.length} of ${oversized.length} kept whole, ${cut.length} other entries ` +
                `there, ${oversizedInTopic} in the event topic`,
            },
            {
              name: 'control: an oversized entry removed from the list is reported missing',
              ok: controlParked && controlMissing === 1,
              detail: `parked: ${controlParked}, reported missing: ${controlMissing}`,
            },
          ],
        };
      },
    };
  },
};
