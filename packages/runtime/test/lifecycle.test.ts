import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { Lifecycle } from '../src/lifecycle.js';
import { silentLogger } from '../src/logger.js';

function lifecycle(timeoutMs = 1_000): { lc: Lifecycle; exits: number[]; started: string[] } {
  const exits: number[] = [];
  const started: string[] = [];
  const lc = new Lifecycle({
    logger: silentLogger(),
    timeoutMs,
    exit: (code) => exits.push(code),
    onShutdownStart: () => started.push('start'),
  });
  return { lc, exits, started };
}

describe('Lifecycle', () => {
  it('stops steps in reverse registration order, so the producer registered first flushes last', async () => {
    const { lc, exits, started } = lifecycle();
    const order: string[] = [];
    lc.onStop('producer', () => void order.push('producer'));
    lc.onStop('consumer', async () => {
      await new Promise((r) => setTimeout(r, 5));
      order.push('consumer');
    });
    lc.onStop('http', () => void order.push('http'));
    assert.equal(await lc.shutdown('test'), 0);
    assert.deepEqual(order, ['http', 'consumer', 'producer']);
    assert.deepEqual(exits, [0]);
    assert.deepEqual(started, ['start']);
  });

  it('is idempotent: a second shutdown returns the same result and stops nothing twice', async () => {
    const { lc, exits } = lifecycle();
    let stops = 0;
    lc.onStop('x', () => void (stops += 1));
    const [a, b] = await Promise.all([lc.shutdown('one'), lc.shutdown('two')]);
    assert.equal(a, b);
    assert.equal(stops, 1);
    assert.deepEqual(exits, [0]);
  });

  it('runs every step even when one fails, and exits non-zero', async () => {
    const { lc, exits } = lifecycle();
    const order: string[] = [];
    lc.onStop('last', () => void order.push('last'));
    lc.onStop('broken', () => {
      throw new Error('cannot close');
    });
    assert.equal(await lc.shutdown('test'), 1);
    assert.deepEqual(order, ['last']);
    assert.deepEqual(exits, [1]);
  });

  it('exits non-zero when a step hangs past the timeout', async () => {
    const { lc, exits } = lifecycle(50);
    lc.onStop('hangs', () => new Promise<void>(() => undefined));
    assert.equal(await lc.shutdown('test'), 1);
    assert.deepEqual(exits, [1]);
  });

  it('a fatal error shuts down with code 1', async () => {
    const { lc, exits } = lifecycle();
    lc.fail(new Error('consumer loop died'), 'consumer');
    assert.equal(await lc.shutdown('ignored'), 1);
    assert.deepEqual(exits, [1]);
  });

  it('SIGTERM starts a graceful stop; a second signal exits at once', async () => {
    const { lc, exits } = lifecycle();
    const fakeProcess = new EventEmitter() as unknown as NodeJS.Process;
    let release: () => void = () => undefined;
    lc.onStop('slow', () => new Promise<void>((r) => (release = r)));
    lc.installSignalHandlers(fakeProcess);
    fakeProcess.emit('SIGTERM');
    await new Promise((r) => setImmediate(r));
    assert.equal(lc.isStopping, true);
    fakeProcess.emit('SIGINT');
    assert.deepEqual(exits, [130]);
    release();
    assert.equal(await lc.shutdown('x'), 0);
  });
});
