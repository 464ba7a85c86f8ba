import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { describeError } from '../src/errors.js';
import { createLogger } from '../src/logger.js';
import { redactUrl } from '../src/redaction.js';

const PASSWORD = 's3cretPW';

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('redactUrl removes the password of every URL', () => {
  const table: [string, string, string][] = [
    ['user and password', 'redis://user:s3cretPW@127.0.0.1:6379', 'redis://user:***@127.0.0.1:6379'],
    ['empty user', 'redis://:s3cretPW@127.0.0.1:6379/0', 'redis://:***@127.0.0.1:6379/0'],
    ['TLS scheme, path and query kept', 'rediss://u:s3cretPW@h:6380/2?x=1', 'rediss://u:***@h:6380/2?x=1'],
    ['an unescaped @ in the password', 'redis://:s3c@retPW@host:6379', 'redis://:***@host:6379'],
    ['a password with sub-delims', "amqp://u:s3c!$&'()*+,;=PW@h", 'amqp://u:***@h'],
    ['percent-encoded', 'postgres://app:s3c%40ret%2FPW@db:5432/x', 'postgres://app:***@db:5432/x'],
    [
      'inside an error message',
      'connect to redis://:s3cretPW@10.0.0.1:6379 failed: ECONNREFUSED',
      'connect to redis://:***@10.0.0.1:6379 failed: ECONNREFUSED',
    ],
    [
      'two URLs in one text',
      'from redis://a:s3cretPW@h1,rediss://b:s3cretPW@h2 to x',
      'from redis://a:***@h1,rediss://b:***@h2 to x',
    ],
    ['inside a JSON line', '{"redis":"redis://:s3cretPW@h:1","msg":"x"}', '{"redis":"redis://:***@h:1","msg":"x"}'],
  ];
  for (const [name, input, expected] of table) {
    it(name, () => {
      assert.equal(redactUrl(input), expected);
      assert.equal(redactUrl(expected), expected, 'redacting twice changes nothing');
    });
  }

  const unchanged: [string, string][] = [
    ['no userinfo', 'redis://127.0.0.1:6379/0'],
    ['a user without password', 'redis://user@127.0.0.1:6379/0'],
    ['an @ in the path', 'https://example.com/users/@me?x=a:b@c'],
    ['an e-mail address', 'mail ops@example.com about http://example.com'],
    ['plain text', 'pushed 12 events'],
  ];
  for (const [name, input] of unchanged) {
    it(`leaves ${name} alone`, () => assert.equal(redactUrl(input), input));
  }
});

describe('the logger never writes a URL password', () => {
  it('redacts the message, fields, nested values, bindings and serialized errors', () => {
    const out = capture();
    const url = `redis://:${PASSWORD}@127.0.0.1:6379`;
    const logger = createLogger({ service: 'svc', destination: out.stream }).child({ upstream: url });
    logger.info({ redis: url }, 'redis ready');
    logger.warn(`could not reach ${url}; retrying`);
    logger.info({ nested: { list: [url, { deeper: `kafka://user:${PASSWORD}@k:9092` }] } }, 'nested');
    logger.error({ err: new Error(`connection to ${url} refused`) }, 'redis failed');
    logger.error(new Error(`handshake with rediss://admin:${PASSWORD}@h:6380 failed`));
    logger.info({ link: new URL(`redis://user:${PASSWORD}@h:1/0`) }, 'a URL object');

    const text = out.text();
    assert.equal(text.includes(PASSWORD), false, text);
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 6);
    assert.equal(lines[0]?.['redis'], 'redis://:***@127.0.0.1:6379');
    assert.equal(lines[0]?.['upstream'], 'redis://:***@127.0.0.1:6379');
    assert.equal(lines[1]?.['msg'], 'could not reach redis://:***@127.0.0.1:6379; retrying');
    assert.deepEqual(lines[2]?.['nested'], {
      list: ['redis://:***@127.0.0.1:6379', { deeper: 'kafka://user:***@k:9092' }],
    });
    const err = lines[3]?.['err'] as { message: string; stack: string };
    assert.equal(err.message, 'connection to redis://:***@127.0.0.1:6379 refused');
    assert.match(err.stack, /connection to redis:\/\/:\*\*\*@127\.0\.0\.1:6379 refused/);
    assert.equal(lines[4]?.['msg'], 'handshake with rediss://admin:***@h:6380 failed');
    assert.equal(lines[5]?.['link'], 'redis://user:***@h:1/0');
  });

  it('leaves lines without a URL password exactly as pino wrote them', () => {
    const out = capture();
    createLogger({ service: 'svc', destination: out.stream }).info(
      { to: 'ops@example.com', url: 'redis://127.0.0.1:6379' },
      'plain',
    );
    const line = JSON.parse(out.text()) as Record<string, unknown>;
    assert.equal(line['to'], 'ops@example.com');
    assert.equal(line['url'], 'redis://127.0.0.1:6379');
  });
});

describe('describeError', () => {
  it('removes a URL password from the description of any thrown value', () => {
    assert.equal(
      describeError(new Error(`cannot connect to redis://u:${PASSWORD}@h:1`)),
      'cannot connect to redis://u:***@h:1',
    );
    assert.equal(describeError(`rediss://:${PASSWORD}@h:2 refused`), 'rediss://:***@h:2 refused');
  });
});
