import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freePort } from '@pushtech/devstack';
import { testRedis } from '@pushtech/devstack/testing';
import { entriesIn, parseReply, redisCommand, RedisReplyError, type RedisReply } from '../src/redis-command.js';

describe('parseReply', () => {
  const complete: { raw: string; reply: RedisReply }[] = [
    { raw: '+OK\r\n', reply: 'OK' },
    { raw: ':42\r\n', reply: 42 },
    { raw: '$5\r\nhello\r\n', reply: 'hello' },
    { raw: '$-1\r\n', reply: null },
    { raw: '$0\r\n\r\n', reply: '' },
    { raw: '*2\r\n$1\r\na\r\n:7\r\n', reply: ['a', 7] },
    { raw: '*-1\r\n', reply: null },
    // Bulk lengths count bytes, not characters.
    { raw: '$3\r\né!\r\n', reply: 'é!' },
  ];
  for (const c of complete) {
    it(`reads ${JSON.stringify(c.raw)}`, () => {
      const parsed = parseReply(Buffer.from(c.raw));
      assert.deepEqual(parsed, { reply: c.reply, end: Buffer.byteLength(c.raw) });
    });
  }

  for (const partial of ['', '+OK', '$5\r\nhel', '*2\r\n$1\r\na\r\n', ':1\r']) {
    it(`waits for more after ${JSON.stringify(partial)}`, () => {
      assert.equal(parseReply(Buffer.from(partial)), undefined);
    });
  }

  it('returns server errors as values and refuses unknown reply types', () => {
    const parsed = parseReply(Buffer.from('-ERR wrong type\r\n'));
    assert.ok(parsed?.reply instanceof RedisReplyError);
    assert.equal(parsed.reply.message, 'ERR wrong type');
    assert.throws(() => parseReply(Buffer.from('!x\r\n')), /unexpected RESP reply type "!"/);
  });
});

describe('redisCommand against a real Redis', () => {
  it('pushes, counts both lists at once and pops several entries', async (t) => {
    const redis = await testRedis(t);
    const a = redis.key('a');
    const b = redis.key('b');
    assert.equal(await redisCommand(redis.url, ['RPUSH', a, 'x', 'y', 'z']), 3);
    assert.equal(await redisCommand(redis.url, ['RPUSH', b, 'w']), 1);
    assert.equal(await entriesIn(redis.url, [a, b]), 4);
    assert.deepEqual(await redisCommand(redis.url, ['RPOP', a, 2]), ['z', 'y']);
    assert.equal(await entriesIn(redis.url, [a, b]), 2);
  });

  it('rejects with the server error, and entriesIn says undefined when nothing answers', async (t) => {
    const redis = await testRedis(t);
    const key = redis.key('s');
    await redisCommand(redis.url, ['SET', key, 'v']);
    await assert.rejects(redisCommand(redis.url, ['LLEN', key]), /WRONGTYPE/);
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    await assert.rejects(redisCommand(nobody, ['PING']), /ECONNREFUSED/);
    assert.equal(await entriesIn(nobody, [key]), undefined);
  });
});
