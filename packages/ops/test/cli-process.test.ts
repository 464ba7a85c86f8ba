import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ok, statusReply } from './helpers/fake-api-server.js';
import { useFakeApiServer } from './helpers/harness.js';
import { deployment, hpaList, metricsText, paths, pdbList, pod, podList } from './helpers/objects.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const fake = useFakeApiServer();

interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string[];
  readonly stderr: string[];
}

/** `npm run ops -- <args>` from the repository root, as an operator types it. */
function npmRunOps(args: readonly string[]): Promise<ProcessResult> {
  return run('npm', ['run', '--silent', 'ops', '--', ...args]);
}

/**
 * The command line of the root `ops` script without npm in between, so a signal reaches the CLI
 * itself (npm dies of a SIGINT instead of passing on the child's exit code).
 */
function opsScript(
  args: readonly string[],
  onStdoutLine?: (line: string, pid: number) => void,
  onStart?: (pid: number) => void,
): Promise<ProcessResult> {
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const [command, ...scriptArgs] = (manifest.scripts['ops'] ?? '').split(' ');
  assert.equal(command, 'node', 'the ops script runs node');
  return run(process.execPath, [...scriptArgs, ...args], onStdoutLine, onStart);
}

async function run(
  command: string,
  args: readonly string[],
  onStdoutLine?: (line: string, pid: number) => void,
  onStart?: (pid: number) => void,
): Promise<ProcessResult> {
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...process.env, KUBECONFIG: fake.kubeconfig.path },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onStart?.(child.pid ?? 0);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const complete = stdout.split('\n').length - 1;
    stdout += chunk;
    for (const line of stdout.split('\n').slice(complete, -1)) onStdoutLine?.(line, child.pid ?? 0);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  // npm may warn about the machine's own npm config; that is not the CLI's output.
  const lines = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('npm warn'));
  return { code, stdout: lines(stdout), stderr: lines(stderr) };
}

describe('the CLI as a process (npm run ops)', () => {
  test('status prints the table and exits 0', async () => {
    const api = fake.api;
    api.on('GET', paths.pods, ok(podList([pod('pushtech-tracker-6d5f8c7b9-aaaaa')])));
    api.on('GET', paths.deployment, ok(deployment({ replicas: 1 })));
    api.on('GET', paths.hpas, ok(hpaList([])));
    api.on('GET', paths.pdbs, ok(pdbList([])));
    api.on('GET', paths.metrics('pushtech-tracker-6d5f8c7b9-aaaaa', 8380), {
      status: 200,
      contentType: 'text/plain; version=0.0.4',
      body: metricsText({ pushtech_tracker_queue_length: 5 }),
    });
    const result = await npmRunOps(['status']);
    assert.deepEqual(result.stderr, []);
    assert.equal(result.code, 0);
    assert.deepEqual(result.stdout.slice(-2), [
      'TRACKER POD                       READY  STATUS   QUEUE',
      'pushtech-tracker-6d5f8c7b9-aaaaa  yes    Running  5',
    ]);
    assert.equal(api.requests[0]?.authorization, 'Bearer test-token');
  });

  test('a forbidden scale is one line on stderr and exit 1', async () => {
    fake.api.on('GET', paths.deployment, statusReply(403, 'Forbidden', 'User "dev" cannot get resource "deployments"'));
    const result = await npmRunOps(['scale', 'tracker', '2']);
    assert.equal(result.code, 1);
    assert.deepEqual(result.stdout, []);
    assert.deepEqual(result.stderr, [
      'pushtech: reading Deployment pushtech/pushtech-tracker failed: forbidden (403): User "dev" cannot get resource "deployments". The account of context fake lacks a permission: grant it the RBAC listed in packages/ops/README.md, or use another --context.',
    ]);
  });

  test('Ctrl-C while following a drain exits 130 with a note, not a stack trace', async () => {
    const target = 'pushtech-tracker-6d5f8c7b9-aaaaa';
    fake.api.on('GET', paths.pod(target), ok(pod(target, { terminating: true })));
    fake.api.on('GET', paths.metrics(target, 8380), {
      status: 200,
      contentType: 'text/plain',
      body: metricsText({ pushtech_tracker_queue_length: 3 }),
    });
    const result = await opsScript(['drain', target, '--interval', '0.05'], (line, pid) => {
      if (line.startsWith('draining')) process.kill(pid, 'SIGINT');
    });
    assert.equal(result.code, 130);
    assert.deepEqual(result.stdout, [
      `pod pushtech/${target} is already terminating; following it until it is gone.`,
      `draining ${target}: queue 3`,
    ]);
    assert.deepEqual(result.stderr, [
      `pushtech: stopped following pod pushtech/${target}; whatever was started goes on in the cluster. Follow it with \`kubectl get pod -n pushtech ${target} -w\`.`,
    ]);
  });

  test('Ctrl-C while the API server does not answer ends the process at once (exit 130)', async () => {
    let pid = 0;
    fake.api.on('GET', paths.pods, () => {
      process.kill(pid, 'SIGINT');
      return 'hang';
    });
    const result = await opsScript(['status'], undefined, (started) => (pid = started));
    assert.equal(result.code, 130);
    assert.deepEqual(result.stderr, [
      'pushtech: interrupted; a change already sent to the cluster may still apply (check with `status`).',
    ]);
  });
});
