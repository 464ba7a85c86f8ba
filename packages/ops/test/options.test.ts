import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseInvocation, usage } from '../src/options.js';
import { runCli } from './helpers/harness.js';

describe('command line', () => {
  test('defaults: namespace and release pushtech, current context, 600 s timeout, 2 s interval', () => {
    assert.deepEqual(parseInvocation(['status']), {
      command: { name: 'status' },
      namespace: 'pushtech',
      release: 'pushtech',
      context: undefined,
      force: false,
      timeoutMs: 600_000,
      intervalMs: 2_000,
    });
  });

  test('options may come before or after the command', () => {
    const invocation = parseInvocation(['-n', 'edge', 'drain', 'pushtech-tracker-abc-1', '--context=kind', '--force']);
    assert.deepEqual(invocation.command, { name: 'drain', pod: 'pushtech-tracker-abc-1' });
    assert.equal(invocation.namespace, 'edge');
    assert.equal(invocation.context, 'kind');
    assert.equal(invocation.force, true);
    assert.deepEqual(parseInvocation(['scale', 'tracker', '12']).command, { name: 'scale', replicas: 12 });
  });

  test('--help and help print the usage and exit 0 without touching a cluster', async () => {
    for (const argv of [['--help'], ['help'], ['-h', 'status']]) {
      const result = await runCli(argv);
      assert.equal(result.code, 0);
      assert.deepEqual(result.out, usage.split('\n'));
      assert.deepEqual(result.err, []);
    }
  });

  const bad: [argv: string[], message: string][] = [
    [[], 'no command given; one of: status, scale tracker <n>, drain <pod>'],
    [['deploy'], 'unknown command "deploy"; one of: status, scale tracker <n>, drain <pod>'],
    [['scale', 'tracker'], 'scale: expected 2 arguments, got "tracker" (usage: scale tracker <n>)'],
    [
      ['scale', 'redis', '3'],
      'scale: only the tracker is scaled by this command, got "redis" (usage: scale tracker <n>)',
    ],
    [['scale', 'tracker', 'three'], 'scale: the number of tracker pods must be a whole number ≥ 0, got "three"'],
    [['scale', 'tracker', '-1'], 'scale: the number of tracker pods must be a whole number ≥ 0, got "-1"'],
    [['scale', 'tracker', '2.5'], 'scale: the number of tracker pods must be a whole number ≥ 0, got "2.5"'],
    [
      ['scale', 'tracker', '99999999999'],
      'scale: the number of tracker pods must be a whole number ≥ 0, got "99999999999"',
    ],
    [['drain'], 'drain: expected 1 argument, got none (usage: drain <pod>)'],
    [['drain', 'Pod_1'], `drain: "Pod_1" is not a pod name (lower-case letters, digits, '-' and '.')`],
    [['status', 'extra'], 'status: expected no arguments, got "extra" (usage: status)'],
    [
      ['status', '--namespace', 'Prod'],
      `--namespace "Prod" is not a valid name (lower-case letters, digits and '-', at most 63 characters)`,
    ],
    [
      ['status', '--release', 'a'.repeat(54)],
      `--release "${'a'.repeat(54)}" is not a valid name (lower-case letters, digits and '-', at most 53 characters)`,
    ],
    [['status', '--context', ''], '--context must not be empty'],
    [['drain', 'p', '--timeout', '0'], '--timeout must be a number of seconds between 1 and 86400, got "0"'],
    [['drain', 'p', '--interval', 'soon'], '--interval must be a number of seconds between 0.001 and 3600, got "soon"'],
    [['status', '--verbose'], 'unknown option --verbose; run with --help for the options'],
    [['status', '--namespace'], '--namespace needs a value; run with --help for the options'],
  ];
  for (const [argv, message] of bad) {
    test(`exit 2 for ${JSON.stringify(argv)}`, async () => {
      const result = await runCli(argv);
      assert.deepEqual(result, { code: 2, out: [], err: [`pushtech: ${message}`] });
    });
  }
});
