import type { EventProducer, KafkaAdmin, KafkaConnection, Logger, OutgoingMessage } from '@pushtech/runtime';
import type { EntryOutcome } from '@pushtech/kafkastore/library';
import { placeOf, readLetters, type Letter } from './letters.js';

/** What a re-drive does with one letter. */
export type Plan =
  | {
      readonly kind: 'send';
      readonly topic: string;
      readonly message: OutgoingMessage;
      readonly id: string | undefined;
    }
  | { readonly kind: 'skip'; readonly why: string };

/** The progress topic of a dead-letter topic: one record per re-driven letter, keyed by its place. */
export const progressTopicOf = (deadLetterTopic: string): string => `${deadLetterTopic}.redriven`;

/**
 * The message a letter is sent back as. A `message` goes as it was, with its original key; a
 * `raw-entry` (kafkastore could not make it a message) goes through kafkastore's own decode and
 * enrichment (`convert`), and is skipped, with the reason, when that still fails. Letters an old
 * kafkastore cut short, and letters whose headers do not read, are never sent.
 */
export function planOf(
  letter: Letter,
  deadLetterTopic: string,
  convert: (entry: string, now: number) => EntryOutcome,
  now: number,
): Plan {
  if (!letter.info.ok) return { kind: 'skip', why: `its headers do not read: ${letter.info.error}` };
  const info = letter.info.value;
  if (!info.whole) return { kind: 'skip', why: 'an older kafkastore cut it short (truncated): it is not the event' };
  if (letter.value === null) return { kind: 'skip', why: 'it has no value' };
  const redrivenFrom = `${deadLetterTopic}/${placeOf(letter)}`;
  if (info.payload === 'message') {
    const headers: Record<string, string> = { redriven_from: redrivenFrom };
    if (info.id !== undefined) headers['id'] = info.id;
    return {
      kind: 'send',
      topic: info.originalTopic,
      id: info.id,
      message: { key: letter.key, value: letter.value, headers },
    };
  }
  const outcome = convert(letter.value.toString('utf8'), now);
  if (outcome.kind !== 'ok') return { kind: 'skip', why: `still not a message (${outcome.stage}): ${outcome.error}` };
  return {
    kind: 'send',
    topic: info.originalTopic,
    id: outcome.id,
    message: { key: outcome.key, value: outcome.value, headers: { id: outcome.id, redriven_from: redrivenFrom } },
  };
}

/**
 * The letters already re-driven, read from the progress topic (empty when it does not exist
 * yet): `<partition>:<offset>` and the letter's own record time. Both must match: a dead-letter
 * topic deleted and created again starts its offsets at 0, and its new letters were never sent.
 */
export async function readProgress(
  connection: KafkaConnection,
  logger: Logger,
  admin: KafkaAdmin,
  deadLetterTopic: string,
): Promise<Set<string>> {
  const topic = progressTopicOf(deadLetterTopic);
  const done = new Set<string>();
  if (!(await admin.listTopics()).includes(topic)) return done;
  await readLetters(connection, logger, topic, (records) => {
    for (const record of records) {
      if (record.key === null || record.value === null) continue;
      let letterTime: unknown;
      try {
        letterTime = (JSON.parse(record.value.toString('utf8')) as { letter?: unknown }).letter;
      } catch {
        continue; // not a record of this command: it marks nothing done
      }
      done.add(`${record.key.toString('utf8')}@${String(letterTime)}`);
    }
  });
  return done;
}

/** What a letter is recorded as in the progress topic's set: its place and its record time. */
export const progressIdOf = (letter: Letter): string => `${placeOf(letter)}@${letter.timestamp}`;

/** Creates the progress topic: compacted, so it keeps one record per re-driven letter. */
export async function ensureProgressTopic(admin: KafkaAdmin, deadLetterTopic: string): Promise<string> {
  const topic = progressTopicOf(deadLetterTopic);
  await admin.ensureTopics([{ topic, partitions: 1, config: { 'cleanup.policy': 'compact' } }]);
  return topic;
}

/**
 * Sends planned letters in chunks: the messages first (acks=all), and only once the broker
 * acknowledged them, their progress records. A crash between the two sends a chunk again on the
 * next run (at most once more, with the same event ids: consumers drop it by id).
 */
export async function sendPlanned(
  producer: EventProducer,
  progressTopic: string,
  planned: readonly { letter: Letter; plan: Plan & { kind: 'send' } }[],
  now: () => number,
  onSent: (letter: Letter, plan: Plan & { kind: 'send' }) => void,
): Promise<void> {
  const CHUNK = 100;
  for (let start = 0; start < planned.length; start += CHUNK) {
    const chunk = planned.slice(start, start + CHUNK);
    const byTopic = new Map<string, OutgoingMessage[]>();
    for (const { plan } of chunk) {
      const list = byTopic.get(plan.topic) ?? [];
      list.push(plan.message);
      byTopic.set(plan.topic, list);
    }
    await producer.sendMany([...byTopic].map(([topic, messages]) => ({ topic, messages })));
    await producer.send(
      progressTopic,
      chunk.map(({ letter, plan }) => ({
        key: placeOf(letter),
        value: JSON.stringify({ letter: letter.timestamp, at: now(), topic: plan.topic, id: plan.id ?? null }),
      })),
    );
    for (const { letter, plan } of chunk) onSent(letter, plan);
  }
}
