import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { Redis, ReplyError } from 'ioredis';
import { freePort } from '@pushtech/devstack';
import { testRedis } from '@pushtech/devstack/testing';
import { classifyInfrastructureError, failureSignature, transient, TransientError } from '../src/index.js';

/** A Redis error reply as ioredis hands it over (its own ReplyError class). */
function reply(text: string): Error {
  const Reply = ReplyError as new (message: string) => Error;
  return new Reply(text);
}

/** A Node.js system error, as fs and net throw them. */
function system(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code, errno: -1, syscall: 'write' });
}

const reasonOf = (error: unknown): string | undefined => classifyInfrastructureError(error)?.reason;

describe('classifyInfrastructureError', () => {
  const table: [string, unknown, string | undefined][] = [
    ['Redis OOM', reply("OOM command not allowed when used memory > 'maxmemory'."), 'redis_oom'],
    [
      'Redis OOM from a script (Redis 7)',
      reply("OOM command not allowed when used memory > 'maxmemory'. script: 23b0, on @user_script:1."),
      'redis_oom',
    ],
    [
      'Redis OOM from a script (Redis 6)',
      reply('ERR Error running script (call to f_1): @user_script:1: -OOM command not allowed when used memory'),
      'redis_oom',
    ],
    ['Redis READONLY', reply("READONLY You can't write against a read only replica."), 'redis_readonly'],
    ['Redis LOADING', reply('LOADING Redis is loading the dataset in memory'), 'redis_loading'],
    [
      'Redis MASTERDOWN',
      reply('MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no.'),
      'redis_masterdown',
    ],
    ['Redis BUSY', reply('BUSY Redis is busy running a script.'), 'redis_busy'],
    ['Redis CLUSTERDOWN', reply('CLUSTERDOWN The cluster is down'), 'redis_clusterdown'],
    ['Redis TRYAGAIN', reply('TRYAGAIN Multiple keys request during rehashing of slot'), 'redis_tryagain'],
    ['Redis MISCONF', reply('MISCONF Errors writing to the AOF file: No space left on device'), 'redis_misconf'],
    ['Redis NOREPLICAS', reply('NOREPLICAS Not enough good replicas to write.'), 'redis_noreplicas'],
    [
      'Redis WRONGTYPE: the data, not the server',
      reply('WRONGTYPE Operation against a key holding the wrong kind of value'),
      undefined,
    ],
    ['Redis BUSYGROUP is not BUSY', reply('BUSYGROUP Consumer Group name already exists'), undefined],
    ['Redis ERR of a script', reply('ERR Error running script (call to f_1): @user_script:1: bad argument'), undefined],
    ['ioredis: connection closed', new Error('Connection is closed.'), 'connection'],
    ...['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].map(
      (code): [string, unknown, string] => [code, system(code, 'connect'), 'connection'],
    ),
    ['ENOSPC', system('ENOSPC', 'no space left on device'), 'disk_full'],
    ['EDQUOT', system('EDQUOT', 'disk quota exceeded'), 'disk_full'],
    ['EROFS', system('EROFS', 'read-only file system'), 'disk_readonly'],
    ['EIO', system('EIO', 'i/o error'), 'disk_io'],
    ['EMFILE', system('EMFILE', 'too many open files'), 'file_handles'],
    ['ENFILE', system('ENFILE', 'file table overflow'), 'file_handles'],
    ['ENOENT: a missing file is not an outage', system('ENOENT', 'no such file'), undefined],
    ['a TransientError', new TransientError('API answered 503'), 'transient'],
    ['transient(error)', transient(new Error('API answered 503')), 'transient'],
    ['ENOSPC as a cause', new Error('archive failed', { cause: system('ENOSPC', 'full') }), 'disk_full'],
    [
      'OOM two causes deep',
      new Error('count failed', { cause: new Error('dedup failed', { cause: reply('OOM command not allowed') }) }),
      'redis_oom',
    ],
    ['transient as a cause', new Error('lookup failed', { cause: transient('503') }), 'transient'],
    [
      'ENOSPC inside an AggregateError',
      new AggregateError([new Error('bad row'), system('ENOSPC', 'full')], 'two writes failed'),
      'disk_full',
    ],
    ['a plain error', new Error('field x is not a number'), undefined],
    ['a thrown string', 'nope', undefined],
    ['undefined', undefined, undefined],
  ];
  for (const [name, error, expected] of table) {
    it(`${name} → ${expected ?? 'not an outage'}`, () => assert.equal(reasonOf(error), expected));
  }

  it('a cause chain that loops ends', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    assert.equal(reasonOf(a), undefined);
  });

  it('real client errors: a refused connection, retries exhausted, a closed connection', async () => {
    const closed = new Redis({
      port: await freePort(),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    closed.on('error', () => undefined);
    const refused = await closed.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.equal(reasonOf(refused), 'connection', String(refused));
    const afterClose = await closed.get('k').then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.equal(reasonOf(afterClose), 'connection', String(afterClose));

    const retrying = new Redis({ port: await freePort(), maxRetriesPerRequest: 1, retryStrategy: () => 10 });
    retrying.on('error', () => undefined);
    const exhausted = await retrying.get('k').then(
      () => undefined,
      (error: unknown) => error,
    );
    retrying.disconnect();
    assert.equal((exhausted as Error).name, 'MaxRetriesPerRequestError');
    assert.equal(reasonOf(exhausted), 'connection');
  });

  it('real errors that are the data: WRONGTYPE from Redis, ENOENT from the filesystem', async (t) => {
    const redis = await testRedis(t);
    const key = redis.key('a-string');
    await redis.client.set(key, 'x');
    const wrongType = await redis.client.hincrby(key, 'f', 1).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.match(String(wrongType), /WRONGTYPE/);
    assert.equal(reasonOf(wrongType), undefined);
    const missing = await readFile('/nonexistent/file').then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.equal(reasonOf(missing), undefined);
  });
});

describe('failureSignature', () => {
  it('the same failure with other numbers is the same; another message or an event id differs', () => {
    const a = failureSignature(new Error('timeout after 1003 ms'));
    assert.equal(failureSignature(new Error('timeout after 998 ms')), a);
    assert.notEqual(failureSignature(new Error('connection refused')), a);
    assert.notEqual(
      failureSignature(new Error('event 01JDABCXYZ has no deviceid')),
      failureSignature(new Error('event 01JDKQRSTV has no deviceid')),
    );
  });

  it('compares the innermost cause, with its code', () => {
    const wrapped = (code: string): Error => new Error('write failed', { cause: system(code, 'x') });
    assert.equal(failureSignature(wrapped('EACCES')), failureSignature(wrapped('EACCES')));
    assert.notEqual(failureSignature(wrapped('EACCES')), failureSignature(wrapped('EPERM')));
  });
});
