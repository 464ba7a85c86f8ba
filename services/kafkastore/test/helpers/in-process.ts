import {
  createMetricsRegistry,
  createProducer,
  kafkaConnectionFrom,
  silentLogger,
  type EventProducer,
} from '@pushtech/runtime';
import type { Cleanup } from '@pushtech/devstack/testing';
import { createKafkastore } from '../../src/app.js';
import { kafkastoreConfig } from '../../src/config.js';
import type { ServiceSetup } from './env.js';

/** The methods a test replaces on a real producer to count or observe its calls. */
type Overrides = Partial<Pick<EventProducer, 'prepare' | 'connect' | 'send' | 'sendMany' | 'produce' | 'disconnect'>>;

/** `inner` with some of its methods replaced; the rest, and `connected`, go to `inner`. */
export function overriding(inner: EventProducer, overrides: Overrides): EventProducer {
  return {
    prepare: () => inner.prepare(),
    connect: () => inner.connect(),
    send: (topic, messages) => inner.send(topic, messages),
    sendMany: (batches) => inner.sendMany(batches),
    produce: (batches) => inner.produce(batches),
    disconnect: () => inner.disconnect(),
    ...overrides,
    get connected() {
      return inner.connected;
    },
  };
}

/**
 * kafkastore draining in this process, on a real producer that the test may wrap (to count or
 * observe its sends). `stop` is idempotent and also runs when the test ends.
 */
export async function runInProcess(
  t: Cleanup,
  setup: ServiceSetup,
  name: string,
  wrap: (inner: EventProducer) => EventProducer,
): Promise<{ stop: () => Promise<void> }> {
  const config = kafkastoreConfig(setup.env, { baseDir: process.cwd() });
  const producer = wrap(createProducer(kafkaConnectionFrom(config, name), silentLogger()));
  const app = await createKafkastore({
    config,
    logger: silentLogger(),
    registry: createMetricsRegistry(name, { processMetrics: false }),
    producer,
  });
  const running = app.run();
  let stopped = false;
  // Called by a test before its keys (the lease among them) are deleted, and on a failure.
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await app.stopDraining();
    await running;
    for (const closer of app.closers) await closer.close();
  };
  t.after(stop);
  return { stop };
}
