import { decodeDeadLetter, type DecodedDeadLetter, type Result } from '@pushtech/event';
import {
  readTopicByOffsets,
  type IncomingMessage,
  type KafkaConnection,
  type Logger,
  type PartitionOffsets,
} from '@pushtech/runtime';
import type { LetterFilter } from './options.js';

/** One record of the dead-letter topic, with its headers read through the contract. */
export interface Letter extends Omit<IncomingMessage, 'topic'> {
  /** The contract's view of the headers, or why they cannot be read. */
  readonly info: Result<DecodedDeadLetter>;
}

export function letterOf(message: IncomingMessage): Letter {
  return {
    partition: message.partition,
    offset: message.offset,
    timestamp: message.timestamp,
    key: message.key,
    value: message.value,
    headers: message.headers,
    info: decodeDeadLetter(message.headers, message.timestamp),
  };
}

/** `<partition>:<offset>`: a letter's place, and its key in the progress topic. */
export const placeOf = (letter: { partition: number; offset: string }): string =>
  `${letter.partition}:${letter.offset}`;

/** When it was dead-lettered: the contract's time, else the record's. */
export const timeOf = (letter: Letter): number => (letter.info.ok ? letter.info.value.time : letter.timestamp);

/** `kafkastore`, `consumer:<name>`, or `?` for headers that do not read. */
export function sourceOf(letter: Letter): string {
  if (!letter.info.ok) return '?';
  const { source, consumer } = letter.info.value;
  return source === 'consumer' ? `consumer:${consumer ?? '?'}` : source;
}

export function matches(letter: Letter, filter: LetterFilter): boolean {
  if (filter.since !== undefined && timeOf(letter) < filter.since) return false;
  if (filter.reason !== undefined && (!letter.info.ok || letter.info.value.reason !== filter.reason)) return false;
  if (filter.source !== undefined) {
    const source = sourceOf(letter);
    if (filter.source === 'consumer' ? !source.startsWith('consumer:') : source !== filter.source) return false;
  }
  return true;
}

/** Every letter in the topic up to where it ended when the read started, in order per partition. */
export async function readLetters(
  connection: KafkaConnection,
  logger: Logger,
  topic: string,
  onLetters: (letters: readonly Letter[]) => void | Promise<void>,
): Promise<void> {
  const reader = await readTopicByOffsets(connection, logger, {
    topic,
    until: 'end',
    onBatch: (messages) => onLetters(messages.map(letterOf)),
  });
  try {
    await reader.done;
  } finally {
    await reader.stop();
  }
}

/** The letter at one place, or undefined when there is none; `bounds` tells what the partition holds. */
export async function readLetterAt(
  connection: KafkaConnection,
  logger: Logger,
  topic: string,
  partition: number,
  offset: string,
): Promise<Letter | undefined> {
  let found: Letter | undefined;
  let settle: () => void = () => undefined;
  const first = new Promise<void>((resolve) => (settle = resolve));
  const reader = await readTopicByOffsets(connection, logger, {
    topic,
    until: 'end',
    from: (offsets: readonly PartitionOffsets[]) =>
      // Every other partition starts at its end: nothing of it is read.
      new Map(offsets.map((o) => [o.partition, o.partition === partition ? offset : o.high])),
    onBatch: (messages) => {
      const message = messages.find((m) => m.partition === partition && m.offset === offset);
      if (message !== undefined) found ??= letterOf(message);
      if (messages.some((m) => m.partition === partition)) settle();
    },
  });
  try {
    await Promise.race([reader.done, first]);
  } finally {
    await reader.stop();
  }
  return found;
}
