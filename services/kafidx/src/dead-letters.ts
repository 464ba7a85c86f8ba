import { decodeDeadLetter } from '@pushtech/event';
import {
  deadLetterTopic,
  describeError,
  readTopicByOffsets,
  type IncomingMessage,
  type KafkaConnection,
  type Logger,
  type TopicReader,
} from '@pushtech/runtime';
import type { WebSocket } from 'ws';
import { DEFAULT_FETCH_MAX_WAIT_MS } from './config.js';

/** Longest value text sent to a browser; a longer entry is cut for display (and says so). */
const VALUE_DISPLAY_CHARS = 64 * 1024;

/** One dead letter as the page shows it; every field is text the page puts in with textContent. */
export interface DeadLetterView {
  /** `<partition>:<offset>` in the dead-letter topic: what `npm run dlq -- show` takes. */
  readonly place: string;
  /** When it was dead-lettered (the contract's time, else the record's), ms. */
  readonly time: number;
  /** `kafkastore`, `consumer:<name>`, or `?` when the headers do not read. */
  readonly source: string;
  readonly reason: string;
  readonly id: string;
  readonly error: string;
  readonly payload: string;
  /** The topic (and partition/offset) the entry was meant for or read from. */
  readonly meant: string;
  readonly legacy: boolean;
  readonly whole: boolean;
  readonly key: string;
  /** The raw entry (or message) as text, at most VALUE_DISPLAY_CHARS. */
  readonly value: string;
  /** Its whole size in bytes (more than `value` shows when it was cut for display). */
  readonly valueBytes: number;
  readonly cut: boolean;
  readonly headers: Readonly<Record<string, string>>;
}

export function viewOf(message: IncomingMessage): DeadLetterView {
  const info = decodeDeadLetter(message.headers, message.timestamp);
  const text = message.value?.toString('utf8') ?? '';
  const common = {
    place: `${message.partition}:${message.offset}`,
    key: message.key?.toString('utf8') ?? '',
    value: text.slice(0, VALUE_DISPLAY_CHARS),
    valueBytes: message.value?.length ?? 0,
    cut: text.length > VALUE_DISPLAY_CHARS,
    headers: message.headers,
  };
  if (!info.ok) {
    return {
      ...common,
      time: message.timestamp,
      source: '?',
      reason: '?',
      id: '',
      error: `headers do not read as a dead letter: ${info.error}`,
      payload: '?',
      meant: '',
      legacy: false,
      whole: true,
    };
  }
  const l = info.value;
  return {
    ...common,
    time: l.time,
    source: l.source === 'consumer' ? `consumer:${l.consumer ?? '?'}` : l.source,
    reason: l.reason,
    id: l.id ?? '',
    error: l.error,
    payload: l.payload,
    meant:
      l.originalPartition === undefined
        ? l.originalTopic
        : `${l.originalTopic} ${l.originalPartition}:${l.originalOffset ?? '?'}`,
    legacy: l.legacy,
    whole: l.whole,
  };
}

/** A browser that asked for the dead letters (kafidx's Viewer is one). */
export interface DeadLetterSubscriber {
  readonly socket: WebSocket;
  readonly open: boolean;
  send(message: Record<string, unknown>): void;
}

export interface DeadLetterFeedOptions {
  readonly connection: KafkaConnection;
  readonly topic: string;
  /** How many of the latest letters are kept and shown to a browser that asks. */
  readonly keep: number;
  /** A browser whose unsent data exceeds this misses live letters (and is told how many). */
  readonly maxBufferedBytes: number;
  readonly logger: Logger;
  /** Pause before reading again after the topic could not be read (missing, Kafka down). */
  readonly retryMs?: number;
  /** How long the broker holds a fetch of the idle topic (KAFIDX_FETCH_MAX_WAIT_MS; its default unless set). */
  readonly maxWaitMs?: number;
}

/**
 * The dead-letter topic, for the page's "Dead letters" panel: one reader per kafidx process
 * starts each partition `keep` letters before its end and follows it, keeping the latest
 * `keep` letters. A browser that subscribes gets those, then every new one as it arrives. The
 * reader commits nothing and leaves no group behind (readTopicByOffsets); nobody's position moves.
 */
export class DeadLetterFeed {
  private readonly kept: DeadLetterView[] = [];
  private readonly subscribers = new Map<DeadLetterSubscriber, { missed: number }>();
  private reader: TopicReader | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wake: () => void = () => undefined;
  private state: string = 'starting';

  constructor(private readonly options: DeadLetterFeedOptions) {}

  /** true once the topic is being read, else why not (shown on the page). */
  get status(): true | string {
    return this.state === 'reading' ? true : this.state;
  }

  start(): void {
    this.running ??= this.loop();
  }

  subscribe(subscriber: DeadLetterSubscriber): void {
    if (!this.subscribers.has(subscriber)) {
      this.subscribers.set(subscriber, { missed: 0 });
      subscriber.socket.once('close', () => this.subscribers.delete(subscriber));
    }
    subscriber.send(this.message(this.kept, false, 0));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.reader?.stop();
    await this.running;
    this.subscribers.clear();
  }

  private message(letters: readonly DeadLetterView[], live: boolean, missed: number): Record<string, unknown> {
    const status = this.status;
    return {
      t: 'dead-letters',
      topic: this.options.topic,
      keep: this.options.keep,
      status: status === true ? 'reading' : status,
      live,
      missed,
      letters,
    };
  }

  private receive(messages: readonly IncomingMessage[]): void {
    const views = messages.map(viewOf);
    this.kept.push(...views);
    this.kept.sort((a, b) => a.time - b.time);
    if (this.kept.length > this.options.keep) this.kept.splice(0, this.kept.length - this.options.keep);
    this.broadcast(views.slice(-this.options.keep));
  }

  private broadcast(letters: readonly DeadLetterView[]): void {
    for (const [subscriber, counts] of this.subscribers) {
      if (!subscriber.open) {
        this.subscribers.delete(subscriber);
        continue;
      }
      // A slow browser loses live letters (counted), it never holds the reader back.
      if (subscriber.socket.bufferedAmount > this.options.maxBufferedBytes) {
        counts.missed += letters.length;
        continue;
      }
      subscriber.send(this.message(letters, true, counts.missed));
    }
  }

  private setState(state: string): void {
    if (state === this.state) return;
    this.state = state;
    this.broadcast([]);
  }

  private async loop(): Promise<void> {
    const { logger, topic, keep } = this.options;
    while (!this.stopped) {
      try {
        this.kept.length = 0;
        this.reader = await readTopicByOffsets(this.options.connection, logger, {
          topic,
          until: 'follow',
          from: (offsets) =>
            new Map(offsets.map((o) => [o.partition, String(maxBigInt(BigInt(o.low), BigInt(o.high) - BigInt(keep)))])),
          onBatch: (messages) => this.receive(messages),
          // Dead letters are rare: an idle topic asked once a second, not five times.
          maxWaitMs: this.options.maxWaitMs ?? DEFAULT_FETCH_MAX_WAIT_MS,
        });
        this.setState('reading');
        logger.info({ topic, keep }, 'reading the dead-letter topic');
        if (this.stopped) await this.reader.stop();
        await this.reader.done;
      } catch (error: unknown) {
        const why = `cannot read ${topic}: ${describeError(error)}`;
        if (why !== this.state) logger.warn({ topic, err: error }, 'cannot read the dead-letter topic; retrying');
        this.setState(why);
      } finally {
        await this.reader?.stop();
        this.reader = undefined;
      }
      if (this.stopped) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.retryMs ?? 10_000);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}

function maxBigInt(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** The feed of a kafidx: its dead-letter topic (KAFKA_DLQ_TOPIC, or <KAFKA_TOPIC>.dlq). */
export function createDeadLetterFeed(
  config: {
    KAFKA_TOPIC: string;
    KAFKA_DLQ_TOPIC: string;
    KAFIDX_DEAD_LETTERS: number;
    KAFIDX_MAX_BUFFERED_BYTES: number;
    KAFIDX_FETCH_MAX_WAIT_MS: number;
  },
  connection: KafkaConnection,
  logger: Logger,
): DeadLetterFeed {
  return new DeadLetterFeed({
    connection,
    topic: deadLetterTopic(config),
    keep: config.KAFIDX_DEAD_LETTERS,
    maxBufferedBytes: config.KAFIDX_MAX_BUFFERED_BYTES,
    maxWaitMs: config.KAFIDX_FETCH_MAX_WAIT_MS,
    logger,
  });
}
