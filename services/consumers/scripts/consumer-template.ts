/** The files `npm run new-consumer` writes: a working consumer and its test. */
export function consumerTemplate(name: string, variable: string): string {
  return `import { defineConsumer } from '@pushtech/consumer-kit';

/**
 * ${name}: counts events per type in the Redis hash \`<prefix>:${name}:by_type\`.
 * Replace the body of handleBatch with what the consumer is for. A batch may be handed over
 * again after a crash or a rebalance: ctx.dedup.applyOnce keeps Redis counts exact.
 */
export const ${variable} = defineConsumer({
  name: '${name}',
  redis: true,
  async handleBatch(events, ctx) {
    await ctx.dedup.applyOnce(events, (event) => [
      { kind: 'hincrby', key: \`\${ctx.keyPrefix}:by_type\`, field: event.type, by: 1 },
    ]);
  },
});
`;
}

export function consumerTestTemplate(name: string, variable: string, fileName: string): string {
  return `import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runConsumer, sampleEvent } from '@pushtech/consumer-kit/testing';
import { ${variable} } from '../src/consumers/${fileName}.js';

describe('${name}', () => {
  it('counts events per type', async (t) => {
    const events = [sampleEvent({ type: 'app_open' }), sampleEvent({ type: 'app_open' }), sampleEvent({ type: 'buy' })];
    const harness = await runConsumer(t, ${variable}, events);
    const counts = await harness.redis.hgetall(\`\${harness.keyPrefix}:${name}:by_type\`);
    assert.deepEqual(counts, { app_open: '2', buy: '1' });
  });
});
`;
}
