import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4's consumer does not refresh its cluster metadata when a fetch cannot reach a
 * partition's leader (the broker was killed): it retries the same dead node with backoff, and
 * learns of the new leaders only when its metadata ages out (5 min), its group coordinator
 * moves, or the retries run out and the consumer restarts. In the chaos suite's leader kills
 * (three-node cluster, 2,000 events/s) kafidx and event_counter read the moved partitions again
 * 0.3 to 34 s after the election, once not within 60 s. Here a fetch that fails to connect asks
 * the cluster who leads now before the error goes on to the runner's retry, so the retry after
 * the election fetches from the new leader.
 */
interface ConsumerGroup {
  cluster: { refreshMetadata(): Promise<void> };
  recoverFromFetch: (this: ConsumerGroup, error: unknown) => Promise<void>;
}

const require = createRequire(import.meta.url);
const { prototype } = require('kafkajs/src/consumer/consumerGroup.js') as { prototype: ConsumerGroup };
const recoverFromFetch = prototype.recoverFromFetch;

prototype.recoverFromFetch = async function recoverFromDeadLeader(this: ConsumerGroup, error: unknown): Promise<void> {
  if ((error as { name?: unknown } | null)?.name === 'KafkaJSConnectionError') {
    // During the election the answer may still name the dead node; the next retry asks again.
    await this.cluster.refreshMetadata().catch(() => undefined);
  }
  return recoverFromFetch.call(this, error);
};
