import { setting } from './config.js';

/**
 * The one size limit of an event's Kafka message, read by both ends of the buffer: the tracker
 * refuses (413) any event whose message, as kafkastore will write it, would be larger, so an
 * acknowledged event always fits; kafkastore checks at start that the topic takes it.
 */
export const messageSettings = {
  /** Largest Kafka message of one event, in bytes; keep it at or below the topic's max.message.bytes. */
  EVENT_MAX_MESSAGE_BYTES: setting.integer({ min: 1_024, max: 100_000_000, default: 1_000_000 }),
} as const;
