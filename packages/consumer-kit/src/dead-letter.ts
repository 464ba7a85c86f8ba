import { deadLetterHeaders, decodeMessage, isEventId } from '@pushtech/event';
import type { IncomingMessage, OutgoingMessage } from '@pushtech/runtime';

/** The reasons a consumer dead-letters a message (a subset of the contract's, packages/event). */
export type DeadLetterReason = 'undecodable' | 'handler_failed';

export interface DeadLetter {
  readonly message: IncomingMessage;
  readonly reason: DeadLetterReason;
  readonly error: string;
}

/** Where dead letters go; the service sends them to the dead-letter topic with acks=all. */
export interface DeadLetterSink {
  send(letters: readonly DeadLetter[], consumer: string): Promise<void>;
}

/**
 * The original message, whole and with its key (a re-drive sends it back as it was), with the
 * headers of the dead-letter contract: source `consumer`, the consumer's name, the reason,
 * where it was read from, and its event id where it can be told.
 */
export function toDeadLetterMessage(letter: DeadLetter, consumer: string, now: number = Date.now()): OutgoingMessage {
  const { message } = letter;
  return {
    key: message.key,
    value: message.value ?? Buffer.alloc(0),
    headers: deadLetterHeaders({
      source: 'consumer',
      consumer,
      reason: letter.reason,
      error: letter.error,
      payload: 'message',
      originalTopic: message.topic,
      originalPartition: message.partition,
      originalOffset: message.offset,
      time: now,
      id: eventIdOf(message),
    }),
  };
}

/** The `id` header kafkastore sets, else the id in the message's meta when it still decodes. */
function eventIdOf(message: IncomingMessage): string | undefined {
  const header = message.headers['id'];
  if (header !== undefined && isEventId(header)) return header;
  if (message.value === null) return undefined;
  const decoded = decodeMessage(message.value.toString('utf8'));
  return decoded.ok && isEventId(decoded.value.meta.id) ? decoded.value.meta.id : undefined;
}
