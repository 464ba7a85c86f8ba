/** The consumer test kit: run a consumer on a real topic with given events, inspect its effects. */
export { runConsumer, startConsumerHarness, type ConsumerHarness, type HarnessOptions } from './consumer-harness.js';
export { readTopic } from './read-topic.js';
export { sampleEvent } from '@pushtech/event/testing';
export {
  assertHeld,
  assertRecovered,
  committed,
  deadLetterCount,
  fatalErrors,
  heldThroughRetries,
  metricSum,
} from './outage.js';
