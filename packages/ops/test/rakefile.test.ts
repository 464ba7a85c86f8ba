import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface RakeResult {
  readonly status: number | null;
  readonly stdout: string[];
  readonly stderr: string;
}

/** Rake from the repository root; DRY_RUN=1 unless env says otherwise, so nothing is started. */
function rake(args: readonly string[], env: Readonly<Record<string, string>> = {}): RakeResult {
  const { NAMESPACE: _namespace, IMAGE_TAG: _tag, ...inherited } = process.env;
  const result = spawnSync('rake', ['-f', path.join(repoRoot, 'Rakefile'), ...args], {
    cwd: repoRoot,
    env: { ...inherited, DRY_RUN: '1', ...env },
    encoding: 'utf8',
  });
  if (result.error) throw result.error;
  return {
    status: result.status,
    stdout: result.stdout.split('\n').filter((l) => l !== ''),
    stderr: result.stderr,
  };
}

describe('Rakefile', () => {
  test('rake -T lists every task with its description', () => {
    const result = rake(['-T']);
    assert.equal(result.status, 0, result.stderr);
    const listed = new Map(
      result.stdout.map((line) => {
        const match = /^rake (\S+)\s+# (.+)$/.exec(line);
        assert.ok(match, `a task line with a description: ${line}`);
        return [match[1] ?? '', match[2] ?? ''];
      }),
    );
    assert.deepEqual([...listed.keys()].sort(), [
      'docker:compose:build',
      'docker:compose:down',
      'docker:compose:up',
      'drain[pod]',
      'kubernetes:apply[layout]',
      'kubernetes:delete[layout]',
      'kubernetes:render',
      'loadtest[rate,duration]',
      'logs[component]',
      'minikube:start',
      'minikube:stop',
      'scale[n]',
      'status',
    ]);
    assert.match(
      listed.get('kubernetes:apply[layout]') ?? '',
      /separate \(kubernetes\/, default\) or sidecar \(kubernetes\.two\/\)/,
    );
    assert.match(listed.get('scale[n]') ?? '', /npm run ops -- scale tracker n/);
  });

  const commands: [args: string[], expected: string[], env?: Record<string, string>][] = [
    [['docker:compose:up'], ['docker compose -f docker-compose/pipeline.yml up --detach --wait']],
    [['docker:compose:down'], ['docker compose -f docker-compose/pipeline.yml down']],
    [
      ['docker:compose:build'],
      [
        'docker build --build-arg SERVICE=tracker -t ghcr.io/pushtech/tracker:dev .',
        'docker build --build-arg SERVICE=kafkastore -t ghcr.io/pushtech/kafkastore:dev .',
        'docker build --build-arg SERVICE=consumers -t ghcr.io/pushtech/consumers:dev .',
        'docker build --build-arg SERVICE=kafidx -t ghcr.io/pushtech/kafidx:dev .',
      ],
    ],
    [['docker:compose:build'], expectTag('1.2.3'), { IMAGE_TAG: '1.2.3' }],
    [['kubernetes:apply'], ['kubectl apply -f kubernetes --recursive']],
    [['kubernetes:apply[separate]'], ['kubectl apply -f kubernetes --recursive']],
    [['kubernetes:apply[sidecar]'], ['kubectl apply -f kubernetes.two --recursive']],
    [['kubernetes:delete[sidecar]'], ['kubectl delete -f kubernetes.two --recursive --ignore-not-found']],
    [['kubernetes:render'], ['npm run k8s:render']],
    [
      ['minikube:start', 'minikube:stop'],
      ['minikube start --addons=metrics-server', 'minikube stop'],
    ],
    [['scale[4]'], ['npm run ops -- scale tracker 4']],
    [
      ['scale[0]', 'status'],
      ['npm run ops -- scale tracker 0 --namespace edge', 'npm run ops -- status --namespace edge'],
      { NAMESPACE: 'edge' },
    ],
    [['drain[pushtech-tracker-6d5f8c7b9-aaaaa]'], ['npm run ops -- drain pushtech-tracker-6d5f8c7b9-aaaaa']],
    [['status'], ['npm run ops -- status']],
    [['logs'], ['kubectl logs -n pushtech -l app.kubernetes.io/component=tracker --all-containers --prefix -f']],
    [
      ['logs[kafkastore]'],
      ['kubectl logs -n pushtech -l app.kubernetes.io/component=kafkastore --all-containers --prefix -f'],
    ],
    [['loadtest'], ['npm run load -- --rate 1000 --duration 30']],
    [['loadtest[2500,60]'], ['npm run load -- --rate 2500 --duration 60']],
  ];
  for (const [args, expected, env] of commands) {
    test(`DRY_RUN=1 rake ${args.join(' ')}${env ? ` (${JSON.stringify(env)})` : ''}`, () => {
      const result = rake(args, env);
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(result.stdout, expected);
    });
  }

  const refusals: [args: string[], message: string][] = [
    [
      ['kubernetes:apply[bogus]'],
      'rake: unknown layout "bogus": use separate (kubernetes/) or sidecar (kubernetes.two/)',
    ],
    [['kubernetes:delete[two]'], 'rake: unknown layout "two": use separate (kubernetes/) or sidecar (kubernetes.two/)'],
    [['scale[three]'], 'rake: n must be a whole number >= 0, got "three"'],
    [['scale[-1]'], 'rake: n must be a whole number >= 0, got "-1"'],
    [['scale'], 'rake: scale needs the number of tracker pods: rake scale[3]'],
    [['drain'], 'rake: drain needs a pod name: rake drain[pushtech-tracker-...]; `rake status` lists them'],
    [['logs[web]'], 'rake: unknown component "web": one of tracker, redis, kafkastore, consumer, kafidx, kafka'],
    [['loadtest[fast]'], 'rake: rate must be a positive number, got "fast"'],
    [['loadtest[100,0]'], 'rake: duration must be a positive number, got "0"'],
  ];
  for (const [args, message] of refusals) {
    test(`rake ${args.join(' ')} aborts with a clear message`, () => {
      const result = rake(args);
      assert.equal(result.status, 1);
      assert.deepEqual(result.stdout, [], 'no command printed or run');
      assert.equal(result.stderr.trim(), message);
    });
  }

  test('a failing command stops rake with its exit status, not a backtrace', () => {
    const bin = mkdtempSync(path.join(tmpdir(), 'pushtech-rake-'));
    try {
      // A kubectl that fails the way a real one does when the cluster is down: a message, exit 1.
      writeFileSync(path.join(bin, 'kubectl'), '#!/bin/sh\necho "connection refused" >&2\nexit 3\n', { mode: 0o755 });
      const result = rake(['kubernetes:apply[sidecar]'], { DRY_RUN: '0', PATH: `${bin}:${process.env['PATH'] ?? ''}` });
      assert.equal(result.status, 1);
      assert.equal(
        result.stderr.trim(),
        '+ kubectl apply -f kubernetes.two --recursive\nconnection refused\nrake: `kubectl apply -f kubernetes.two --recursive` failed (exit 3)',
      );
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  test('a missing tool is named', () => {
    const bin = mkdtempSync(path.join(tmpdir(), 'pushtech-rake-'));
    try {
      // Only ruby and rake on PATH, so `minikube` cannot be found whatever the machine has.
      for (const tool of ['ruby', 'rake']) symlinkSync(whichOrThrow(tool), path.join(bin, tool));
      const result = rake(['minikube:stop'], { DRY_RUN: '0', PATH: bin });
      assert.equal(result.status, 1);
      assert.equal(
        result.stderr.trim(),
        '+ minikube stop\nrake: minikube is not installed (needed for: minikube stop)',
      );
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

function whichOrThrow(tool: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
  assert.ok(found, `${tool} is installed`);
  return found;
}

function expectTag(tag: string): string[] {
  return ['tracker', 'kafkastore', 'consumers', 'kafidx'].map(
    (service) => `docker build --build-arg SERVICE=${service} -t ghcr.io/pushtech/${service}:${tag} .`,
  );
}
