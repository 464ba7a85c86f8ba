import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { errorCodeMeanings, errorCodes, setting, type ConfigSchema } from '@pushtech/runtime';
import { builtInConsumers } from '@pushtech/consumers/built-in';
import { consumersSettings } from '@pushtech/consumers/config';
import { kafidxSettings } from '@pushtech/kafidx/config';
import { kafkastoreSettings } from '@pushtech/kafkastore/config';
import { trackerSettings } from '@pushtech/tracker/config';
import { devstackSettings } from '@pushtech/devstack';
import { dlqSettings } from '@pushtech/dlq/settings';
import { missingFromReference, renderConfigReference, type ReferenceInput } from '../src/config-reference.js';
import { configReferenceInput, configReferencePath } from '../src/config-reference-sources.js';

describe('docs/configuration.md', () => {
  const onDisk = readFileSync(configReferencePath(), 'utf8');

  it('is what the settings schemas and their comments say (else: run npm run docs:config)', () => {
    const fresh = renderConfigReference(configReferenceInput);
    assert.ok(fresh === onDisk, 'docs/configuration.md is out of date: run npm run docs:config');
  });

  it('has a row for every setting of every service, each built-in consumer, the devstack and dlq', () => {
    // The schemas the services parse, imported here on their own: a service left out of the
    // generator's list is caught, not only a row left out of a listed one.
    const expected = [
      { title: 'tracker', settings: trackerSettings },
      { title: 'kafkastore', settings: kafkastoreSettings },
      { title: 'consumers', settings: consumersSettings },
      ...builtInConsumers.map((c) => ({ title: `consumer ${c.name}`, settings: c.settings ?? {} })),
      { title: 'kafidx', settings: kafidxSettings },
      { title: 'devstack', settings: devstackSettings },
      { title: 'dlq', settings: dlqSettings },
    ];
    assert.deepEqual(missingFromReference(onDisk, expected, errorCodeMeanings), []);
  });

  it('has a row for every error code of the catalog', () => {
    assert.deepEqual(Object.keys(errorCodeMeanings).sort(), [...errorCodes].sort());
    const missing = missingFromReference(onDisk, [], Object.fromEntries(errorCodes.map((c) => [c, ''])));
    assert.deepEqual(missing, []);
  });
});

// A made-up service, to show what the generator does with what a real one may one day contain.
const svcFile = 'services/svc/src/config.ts';
const svcSource = `
export const svcSettings = {
  /** Port it listens on. */
  SVC_PORT: setting.port({ default: 8000 }),
  /**
   * Keys callers send;
   * a | in a comment stays in its cell.
   */
  SVC_KEYS: setting.list({ default: ['top-secret-key'], secret: true }),
  /** Where state lives. */
  SVC_URL: setting.url({ protocols: ['redis:'], default: 'redis://user:hunter2@db:6379' }),
  /** Named after the machine. */
  SVC_NAME: setting.string({ default: hostname() }),
  /** Has no default. */
  SVC_MODE: setting.oneOf(['a', 'b']),
};
`;

function svcSchema(): ConfigSchema {
  return {
    SVC_PORT: setting.port({ default: 8000 }),
    SVC_KEYS: setting.list({ default: ['top-secret-key'], secret: true }),
    SVC_URL: setting.url({ protocols: ['redis:'], default: 'redis://user:hunter2@db:6379' }),
    SVC_NAME: setting.string({ default: 'this-machine' }),
    SVC_MODE: setting.oneOf(['a', 'b']),
  };
}

function inputFor(settings: ConfigSchema, source = svcSource): ReferenceInput {
  return {
    sections: [{ title: 'svc', intro: 'A service.', settings }],
    sources: [{ file: svcFile, settings }],
    errorCodes: { PT_ERR_ONE: 'The first.' },
    read: (file) => {
      assert.equal(file, svcFile);
      return source;
    },
  };
}

function rowOf(markdown: string, name: string): string[] {
  const line = markdown.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
  assert.ok(line, `no row for ${name}`);
  return line
    .split(/(?<!\\)\|/)
    .slice(1, -1)
    .map((c) => c.trim());
}

describe('the configuration reference generator', () => {
  it('fails the check when a setting is added without regenerating', () => {
    const settings = svcSchema();
    const before = renderConfigReference(inputFor(settings));
    assert.deepEqual(missingFromReference(before, [{ title: 'svc', settings }], { PT_ERR_ONE: '' }), []);

    const added = { ...settings, SVC_NEW: setting.boolean({ default: true }) };
    const source = svcSource.replace('};', '  /** New. */\n  SVC_NEW: setting.boolean({ default: true }),\n};');
    assert.deepEqual(missingFromReference(before, [{ title: 'svc', settings: added }], { PT_ERR_ONE: '' }), [
      'svc: SVC_NEW',
    ]);
    assert.notEqual(renderConfigReference(inputFor(added, source)), before);
  });

  it('fails the check when an error code is added without regenerating', () => {
    const before = renderConfigReference(inputFor(svcSchema()));
    assert.deepEqual(missingFromReference(before, [], { PT_ERR_ONE: '', PT_ERR_TWO: '' }), ['error code PT_ERR_TWO']);
  });

  it('refuses a setting without a doc comment, naming its file and variable', () => {
    const source = svcSource.replace('  /** Has no default. */\n', '');
    assert.throws(
      () => renderConfigReference(inputFor(svcSchema(), source)),
      new RegExp(`${svcFile}: add a /\\*\\* … \\*/ comment above SVC_MODE`),
    );
  });

  it('refuses a setting defined in none of the listed files', () => {
    const settings = { ...svcSchema(), SVC_ELSEWHERE: setting.integer({ default: 1 }) };
    assert.throws(
      () => renderConfigReference(inputFor(settings)),
      /svc SVC_ELSEWHERE: defined in none of the source files/,
    );
  });

  it('refuses one schema claimed by two files (an override must not take the shared doc)', () => {
    const settings = svcSchema();
    const input = inputFor(settings);
    const twice: ReferenceInput = {
      ...input,
      sources: [...input.sources, { file: 'packages/other/src/settings.ts', settings }],
      read: () => svcSource,
    };
    assert.throws(
      () => renderConfigReference(twice),
      /SVC_PORT: defined in services\/svc\/src\/config.ts and in packages\/other/,
    );
  });

  it('shows type, default, bounds and the doc; never a secret value nor a URL password', () => {
    const markdown = renderConfigReference(inputFor(svcSchema()));
    assert.deepEqual(rowOf(markdown, 'SVC_PORT'), [
      '`SVC_PORT`',
      'port',
      '`8000`',
      '1 to 65535',
      'no',
      'Port it listens on.',
    ]);
    assert.deepEqual(rowOf(markdown, 'SVC_KEYS'), [
      '`SVC_KEYS`',
      'list',
      '(set, not shown)',
      'a comma-separated list',
      'yes',
      'Keys callers send; a \\| in a comment stays in its cell.',
    ]);
    assert.doesNotMatch(markdown, /top-secret-key/);
    assert.doesNotMatch(markdown, /hunter2/);
    assert.equal(rowOf(markdown, 'SVC_URL')[2], '`redis://user:***@db:6379`');
    // A default computed at start differs per machine: the reference shows how it is computed.
    assert.equal(rowOf(markdown, 'SVC_NAME')[2], 'computed: `hostname()`');
    assert.deepEqual(rowOf(markdown, 'SVC_MODE').slice(1, 4), ['one of', '*required*', '`a`, `b`']);
    assert.match(markdown, /\| `PT_ERR_ONE` \| The first\. \|/);
  });
});
