import type { IncomingMessage, OutgoingMessage } from '@pushtech/runtime';

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

/** The original bytes, with the reason in headers (`error`, `original_topic`, `consumer`). */
export function toDeadLetterMessage(letter: DeadLetter, consumer: string): OutgoingMessage {
  const { message } = letter;
  return {
    key: message.key,
    value: message.value ?? Buffer.alloc(0),
    headers: {
      error: letter.error.slice(0, 1000),
      reason: letter.reason,
      original_topic: message.topic,
      original_partition: String(message.partition),
      original_offset: message.offset,
      consumer,
    },
  };
}
