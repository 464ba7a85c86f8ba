/**
 * The end-to-end benchmark's consumer, in a process of its own (as a real consumer would be), so
 * the load generator's work does not delay what it measures. For every message it takes:
 *   - append latency: the broker's LogAppendTime (the bench topic's timestamp type) minus the
 *     tracker's receive time (meta.ts);
 *   - consume latency: this process's clock at receipt minus the receive time.
 * Protocol over IPC: it sends {type:'ready'} once it owns partitions and {type:'progress',
 * consumed} every 200 ms; on {type:'reset'} it forgets its samples, on {type:'report'} it answers
 * {type:'report', consumed, append, consume} with percentiles of the samples since the reset.
 * Env: BENCH_BROKERS, BENCH_TOPIC.
 */
import { decodeMessage } from '@pushtech/event';
import { createConsumer, silentLogger } from '@pushtech/runtime';
import { percentiles } from '../src/index.js';

const brokers = process.env['BENCH_BROKERS'] ?? '';
const topic = process.env['BENCH_TOPIC'] ?? '';
if (!process.send || brokers === '' || topic === '') {
  process.stderr.write('latency-consumer: run by the pipeline benchmark (IPC, BENCH_BROKERS, BENCH_TOPIC)\n');
  process.exit(2);
}
const send = (message: unknown): void => void process.send?.(message);

let consumed = 0;
let undecodable = 0;
let append: number[] = [];
let consume: number[] = [];

const consumer = createConsumer({ brokers: brokers.split(','), clientId: 'pipeline-bench' }, silentLogger(), {
  groupId: `pipeline-bench-${process.pid}`,
  topics: [topic],
  fromBeginning: true,
  maxWaitMs: 50,
  concurrency: 6,
});
consumer.onCrash((error) => {
  process.stderr.write(`latency-consumer: crashed: ${error.message}\n`);
  process.exit(1);
});

process.on('message', (message: { type?: string }) => {
  if (message.type === 'reset') {
    append = [];
    consume = [];
  } else if (message.type === 'report') {
    send({ type: 'report', consumed, undecodable, append: percentiles(append), consume: percentiles(consume) });
  } else if (message.type === 'stop') {
    void consumer.stop().then(() => process.exit(0));
  }
});

await consumer.start((batch) => {
  const now = Date.now();
  for (const m of batch.messages) {
    const event = m.value === null ? undefined : decodeMessage(m.value.toString('utf8'));
    if (!event?.ok) {
      undecodable += 1;
      continue;
    }
    consumed += 1;
    append.push(m.timestamp - event.value.meta.ts);
    consume.push(now - event.value.meta.ts);
  }
  return Promise.resolve();
});
await consumer.waitForAssignment(30_000);
send({ type: 'ready' });
setInterval(() => send({ type: 'progress', consumed }), 200).unref();
