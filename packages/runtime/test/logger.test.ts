import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../src/logger.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  it('writes one JSON object per line with service, level label, time and bindings', () => {
    const out = capture();
    const logger = createLogger({ service: 'tracker', level: 'info', destination: out.stream });
    logger.child({ component: 'redis' }).info({ batch: 12 }, 'pushed');
    logger.debug('hidden below the level');
    const [line, ...rest] = out.lines();
    assert.equal(rest.length, 0);
    assert.equal(line?.['service'], 'tracker');
    assert.equal(line?.['level'], 'info');
    assert.equal(line?.['component'], 'redis');
    assert.equal(line?.['batch'], 12);
    assert.equal(line?.['msg'], 'pushed');
    assert.match(String(line?.['time']), /^\d{4}-\d\d-\d\dT/);
  });
});
