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

  it('logs an error object with its type, stack and cause chain, with URL passwords redacted', () => {
    const out = capture();
    const logger = createLogger({ service: 'tracker', level: 'info', destination: out.stream });
    const root = new TypeError('connect ECONNREFUSED redis://default:s3cret-pw@redis:6379');
    const error = new Error('cannot push the batch', { cause: root });
    logger.error({ err: error }, 'push failed');
    const [line] = out.lines();
    const err = line?.['err'] as { type: string; message: string; stack: string; cause: Record<string, string> };
    assert.equal(err.type, 'Error');
    assert.equal(err.message, 'cannot push the batch');
    assert.match(err.stack, /^Error: cannot push the batch\n\s+at /);
    assert.equal(err.cause['type'], 'TypeError');
    assert.equal(err.cause['message'], 'connect ECONNREFUSED redis://default:***@redis:6379');
    assert.match(
      String(err.cause['stack']),
      /^TypeError: connect ECONNREFUSED redis:\/\/default:\*\*\*@redis:6379\n\s+at /,
    );
    assert.doesNotMatch(JSON.stringify(line), /s3cret-pw/);
  });
  it("drops a failed command's arguments (an AUTH password) from a logged error, keeping its name", () => {
    const out = capture();
    const logger = createLogger({ service: 'kafkastore', level: 'info', destination: out.stream });
    // The shape ioredis gives a reply error: the command, with its arguments, on the error.
    const reply = Object.assign(new Error('WRONGPASS invalid username-password pair'), {
      command: { name: 'auth', args: ['wrongPW-not-for-logs'] },
    });
    logger.error({ err: new Error('redis refused', { cause: reply }) }, 'stop step failed');
    logger.error({ err: reply }, 'redis error');
    const lines = out.lines();
    assert.equal(lines.length, 2);
    for (const line of lines) assert.doesNotMatch(JSON.stringify(line), /wrongPW-not-for-logs/);
    const direct = lines[1]?.['err'] as { command: { name: string } };
    assert.deepEqual(direct.command, { name: 'auth' });
  });
});
