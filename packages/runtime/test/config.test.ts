import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig, setting } from '../src/config.js';
import { commonSettings } from '../src/common-settings.js';
import { deadLetterTopic, kafkaSettings } from '../src/kafka/settings.js';

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error: unknown) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  assert.fail('expected a ConfigError');
}

describe('settings accept what they say and reject the rest', () => {
  const table: [string, ReturnType<typeof setting.port> | ReturnType<typeof setting.string>, string, unknown][] = [
    ['port', setting.port(), '8080', 8080],
    ['port with spaces', setting.port(), ' 80 ', 80],
    ['integer', setting.integer({ min: -5, max: 5 }), '-5', -5],
    ['string', setting.string(), 'x', 'x'],
  ];
  for (const [name, schema, raw, expected] of table) {
    it(`${name}: ${JSON.stringify(raw)}`, () => {
      assert.deepEqual(parseConfig('svc', { V: schema }, { V: raw }).V, expected);
    });
  }

  const bad: [string, Parameters<typeof parseConfig>[1], string, RegExp][] = [
    ['port not a number', { V: setting.port() }, 'abc', /V="abc": expected a TCP port number from 1 to 65535/],
    ['port too large', { V: setting.port() }, '70000', /from 1 to 65535/],
    ['port zero', { V: setting.port() }, '0', /from 1 to 65535/],
    ['integer with a fraction', { V: setting.integer({ min: 0, max: 10 }) }, '1.5', /an integer from 0 to 10/],
    ['integer out of range', { V: setting.integer({ min: 0, max: 10 }) }, '11', /an integer from 0 to 10/],
    ['boolean', { V: setting.boolean() }, 'maybe', /true or false/],
    ['oneOf', { V: setting.oneOf(['a', 'b']) }, 'c', /one of a, b/],
    ['url protocol', { V: setting.url({ protocols: ['redis:'] }) }, 'http://x', /starting with redis:\/\//],
    ['url garbage', { V: setting.url({ protocols: ['redis:'] }) }, 'not a url', /starting with redis:\/\//],
    ['brokers without port', { V: setting.hostPorts() }, 'kafka', /host:port/],
    ['brokers bad port', { V: setting.hostPorts() }, 'a:1,b:99999', /host:port/],
    ['pattern', { V: setting.string({ pattern: /^[a-z]+$/ }) }, 'A1', /matching/],
    ['list item', { V: setting.list({ item: /^\d+$/, accepts: 'numbers' }) }, '1,x', /numbers; "x" is not valid/],
  ];
  for (const [name, schema, raw, message] of bad) {
    it(`rejects ${name}`, () => {
      const problems = problemsOf(() => parseConfig('svc', schema, { V: raw }));
      assert.equal(problems.length, 1);
      assert.match(problems[0] ?? '', message);
    });
  }
});

describe('parseConfig', () => {
  const schema = {
    PORT: setting.port({ default: 8080 }),
    BROKERS: setting.hostPorts(),
    DEBUG: setting.boolean({ default: false }),
    TAGS: setting.list(),
  };

  it('applies defaults, also for empty values, and parses types', () => {
    const config = parseConfig('svc', schema, { BROKERS: 'a:1, [::1]:2', DEBUG: 'yes', PORT: '' });
    assert.deepEqual(config, { PORT: 8080, BROKERS: ['a:1', '[::1]:2'], DEBUG: true, TAGS: [] });
  });

  it('returns a deep-frozen object', () => {
    const config = parseConfig('svc', schema, { BROKERS: 'a:1' });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.BROKERS));
    assert.throws(() => {
      (config as { PORT: number }).PORT = 1;
    }, TypeError);
  });

  it('reports every bad variable at once, by name, with its value and what is accepted', () => {
    assert.throws(
      () => parseConfig('tracker', schema, { PORT: 'x', DEBUG: 'sometimes' }),
      (e: unknown) => e instanceof ConfigError && e.code === 'PT_ERR_CONFIG',
    );
    const problems = problemsOf(() => parseConfig('tracker', schema, { PORT: 'x', DEBUG: 'sometimes' }));
    assert.deepEqual(problems, [
      'PORT="x": expected a TCP port number from 1 to 65535',
      'BROKERS=(unset): required: expected a comma-separated list of host:port (e.g. 127.0.0.1:9092,kafka-1:9092)',
      'DEBUG="sometimes": expected true or false (also 1/0, yes/no, on/off)',
    ]);
  });

  it('starts the message with the service name and what to do', () => {
    assert.throws(() => parseConfig('kafkastore', schema, {}), {
      message: /^kafkastore: invalid configuration \(fix the environment variable or \.env\):\n {2}BROKERS=\(unset\)/,
    });
  });

  it('reads only the variables of its schema', () => {
    const config = parseConfig('svc', schema, { BROKERS: 'a:1', SECRET: 'x' });
    assert.equal(Object.hasOwn(config, 'SECRET'), false);
  });
});

describe('shared settings', () => {
  it('common settings default to production JSON logs', () => {
    const config = parseConfig('svc', commonSettings, {});
    assert.equal(config.NODE_ENV, 'production');
    assert.equal(config.LOG_FORMAT, 'json');
    assert.equal(config.LOG_LEVEL, 'info');
  });

  it('the dead-letter topic defaults to <topic>.dlq', () => {
    const config = parseConfig('svc', kafkaSettings, { KAFKA_BROKERS: 'k:9092', KAFKA_TOPIC: 'events' });
    assert.equal(deadLetterTopic(config), 'events.dlq');
    const custom = parseConfig('svc', kafkaSettings, {
      KAFKA_BROKERS: 'k:9092',
      KAFKA_TOPIC: 'e',
      KAFKA_DLQ_TOPIC: 'dead',
    });
    assert.equal(deadLetterTopic(custom), 'dead');
  });

  it('rejects a topic name Kafka would refuse', () => {
    const problems = problemsOf(() =>
      parseConfig('svc', kafkaSettings, { KAFKA_BROKERS: 'k:9092', KAFKA_TOPIC: 'my topic' }),
    );
    assert.match(problems[0] ?? '', /^KAFKA_TOPIC="my topic": expected a Kafka topic name/);
  });
});
