import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, describeSetting, parseConfig, setting } from '../src/config.js';
import { commonSettings } from '../src/common-settings.js';
import { loadEnv } from '../src/dotenv.js';
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

describe('a config error never shows a secret', () => {
  const secret = 'my secret token!';
  const messageOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (error: unknown) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    return assert.fail('expected a ConfigError');
  };

  const table: [string, Parameters<typeof parseConfig>[1], string, string, string][] = [
    [
      'a secret string, bad by its pattern',
      { TOKEN: setting.string({ pattern: /^\S{16,}$/, accepts: '16+ characters, no spaces', secret: true }) },
      secret,
      secret,
      'TOKEN=(secret, not shown): expected 16+ characters, no spaces',
    ],
    [
      'a secret list, bad by one item',
      { KEYS: setting.list({ item: /^[a-z0-9]{8,}$/, accepts: 'write keys of 8+ [a-z0-9]', secret: true }) },
      `goodkey123,${secret}`,
      secret,
      'KEYS=(secret, not shown): expected write keys of 8+ [a-z0-9]; item 2 is not valid',
    ],
    [
      'a URL with a password and the wrong scheme',
      { REDIS_URL: setting.url({ protocols: ['redis:'] }) },
      'http://user:s3cretPW@cache:6379',
      's3cretPW',
      'REDIS_URL="http://***@cache:6379": expected a URL starting with redis://',
    ],
    [
      'a URL with a password a parser refuses',
      { REDIS_URL: setting.url({ protocols: ['redis:'] }) },
      'redis://:s3cretPW@cache:99999',
      's3cretPW',
      'REDIS_URL="redis://***@cache:99999": expected a URL starting with redis://',
    ],
    [
      'a value without a scheme that has a password anyway',
      { REDIS_URL: setting.url({ protocols: ['redis:'] }) },
      ':s3cretPW@cache:6379',
      's3cretPW',
      'REDIS_URL="***@cache:6379": expected a URL starting with redis://',
    ],
  ];
  for (const [name, schema, raw, hidden, problem] of table) {
    it(`${name}: named with what is wrong, its value not shown`, () => {
      const message = messageOf(() => parseConfig('svc', schema, { [Object.keys(schema)[0] ?? '']: raw }));
      assert.equal(message.includes(hidden), false, message);
      assert.deepEqual(
        problemsOf(() => parseConfig('svc', schema, { [Object.keys(schema)[0] ?? '']: raw })),
        [problem],
      );
    });
  }

  it('a secret that is unset is reported as unset', () => {
    const problems = problemsOf(() => parseConfig('svc', { TOKEN: setting.string({ secret: true }) }, {}));
    assert.deepEqual(problems, ['TOKEN=(unset): required: expected a non-empty string']);
  });

  it('the other variables keep showing their values', () => {
    const problems = problemsOf(() =>
      parseConfig(
        'svc',
        { TOKEN: setting.string({ pattern: /^.{16,}$/, secret: true }), PORT: setting.port() },
        { TOKEN: 'short', PORT: 'x' },
      ),
    );
    assert.deepEqual(problems, [
      'TOKEN=(secret, not shown): expected a value matching /^.{16,}$/',
      'PORT="x": expected a TCP port number from 1 to 65535',
    ]);
  });

  it('a secret that is valid is returned as it was given', () => {
    const config = parseConfig('svc', { TOKEN: setting.string({ secret: true }) }, { TOKEN: secret });
    assert.equal(config.TOKEN, secret);
  });
});

describe('describeSetting (the configuration reference is made from it)', () => {
  // Each builder with a value it must refuse: the description must say what the error says.
  const table: [string, Parameters<typeof describeSetting>[0], string][] = [
    ['string', setting.string({ pattern: /^a+$/, accepts: 'only a' }), 'b'],
    ['integer', setting.integer({ min: 2, max: 9, default: 3 }), '10'],
    ['port', setting.port({ allowZero: true }), '70000'],
    ['boolean', setting.boolean({ default: true }), 'maybe'],
    ['oneOf', setting.oneOf(['x', 'y'], { default: 'x' }), 'z'],
    ['url', setting.url({ protocols: ['redis:'] }), 'http://h'],
    ['hostPorts', setting.hostPorts(), 'kafka'],
    ['list', setting.list({ item: /^\d+$/, accepts: 'numbers', secret: true }), 'a'],
  ];
  for (const [kind, schema, bad] of table) {
    it(`${kind}: accepts says what a config error says`, () => {
      const description = describeSetting(schema);
      assert.equal(description?.kind, kind);
      const [problem] = problemsOf(() => parseConfig('svc', { V: schema }, { V: bad }));
      assert.ok(problem?.includes(description.accepts), `${problem} does not say ${description.accepts}`);
    });
  }

  it('tells default, bounds, values and secrecy; a required setting has no default', () => {
    assert.deepEqual(describeSetting(setting.integer({ min: 2, max: 9, default: 3 })), {
      kind: 'integer',
      accepts: 'an integer from 2 to 9',
      default: 3,
      min: 2,
      max: 9,
      secret: false,
    });
    assert.deepEqual(describeSetting(setting.oneOf(['x', 'y']))?.values, ['x', 'y']);
    assert.equal(describeSetting(setting.oneOf(['x', 'y']))?.default, undefined);
    assert.deepEqual(describeSetting(setting.port({ default: 80 }))?.min, 1);
    assert.equal(describeSetting(setting.string({ secret: true }))?.secret, true);
    assert.equal(describeSetting(setting.string())?.secret, false);
    assert.deepEqual(describeSetting(setting.list())?.default, []);
    assert.equal(describeSetting(commonSettings.NODE_ENV)?.default, 'production');
  });
});

describe('path settings: a relative path is read against where it was written', () => {
  // A repository-like tree: the .env at the root, the service started in services/x.
  const root = mkdtempSync(path.join(tmpdir(), 'config-paths-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const cwd = path.join(root, 'services', 'x');
  mkdirSync(cwd, { recursive: true });
  writeFileSync(
    path.join(root, '.env'),
    'DIR=.devstack/archive\nFILES=a.mmdb, /abs/b.mmdb\nABS=/srv/data\nOVERRIDDEN=from-dotenv\nPLAIN=.devstack/x\n',
  );
  const schema = {
    DIR: setting.string({ path: true }),
    FILES: setting.list({ path: true }),
    ABS: setting.string({ path: true }),
    OVERRIDDEN: setting.string({ path: true }),
    FROM_ENV: setting.string({ path: true }),
    UNSET: setting.string({ default: '', pattern: /.*/, path: true }),
    PLAIN: setting.string(),
  };

  it('resolves .env values against the .env directory, environment values against cwd', () => {
    const env = loadEnv({ processEnv: { OVERRIDDEN: '../state', FROM_ENV: 'certs/key.pem' }, cwd });
    const config = parseConfig('svc', schema, env);
    assert.equal(config.DIR, path.join(root, '.devstack', 'archive'));
    assert.deepEqual(config.FILES, [path.join(root, 'a.mmdb'), '/abs/b.mmdb']);
    assert.equal(config.ABS, '/srv/data');
    assert.equal(config.OVERRIDDEN, path.join(root, 'services', 'state'));
    assert.equal(config.FROM_ENV, path.join(cwd, 'certs', 'key.pem'));
    assert.equal(config.UNSET, '', 'an empty path stays empty: "not set"');
    assert.equal(config.PLAIN, '.devstack/x', 'a setting that is no path is left as written');
    assert.ok(Object.isFrozen(config.FILES));
  });

  it('resolves an env that loadEnv did not make against baseDir, else the working directory', () => {
    const env = { DIR: 'a', FILES: 'b,/c', ABS: '/d', OVERRIDDEN: 'e', FROM_ENV: 'f', PLAIN: 'p' };
    const withBase = parseConfig('svc', schema, env, { baseDir: '/app' });
    assert.equal(withBase.DIR, '/app/a');
    assert.deepEqual(withBase.FILES, ['/app/b', '/c']);
    assert.equal(withBase.ABS, '/d');
    assert.equal(parseConfig('svc', schema, env).DIR, path.resolve(process.cwd(), 'a'));
  });

  it('says in the reference how a relative path is read', () => {
    assert.match(describeSetting(schema.DIR)?.accepts ?? '', /relative: to the \.env file it is in/);
    assert.doesNotMatch(describeSetting(schema.PLAIN)?.accepts ?? '', /relative/);
  });
});
