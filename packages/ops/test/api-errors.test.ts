import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { connect } from '../src/cluster.js';
import { statusReply } from './helpers/fake-api-server.js';
import { runCli, useFakeApiServer, type RunResult } from './helpers/harness.js';
import { paths } from './helpers/objects.js';

const fake = useFakeApiServer();

function restoreEnv(values: Readonly<Record<string, string | undefined>>): void {
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

/** Every failure is one line on stderr: no stack trace, nothing on stdout. */
function assertOneLine(result: RunResult): string {
  assert.equal(result.code, 1);
  assert.deepEqual(result.out, []);
  assert.equal(result.err.length, 1, result.err.join('\n'));
  const line = result.err[0] ?? '';
  assert.ok(!line.includes('\n') && !/\bat .*\(.*:\d+:\d+\)/.test(line), `no stack trace: ${line}`);
  assert.ok(line.startsWith('pushtech: '));
  return line;
}

describe('API errors become one line saying what failed and what to do', () => {
  test('404 not found', async () => {
    fake.api.on('GET', paths.pods, statusReply(404, 'NotFound', 'namespaces "pushtech" not found'));
    const line = assertOneLine(await runCli(['status']));
    assert.equal(
      line,
      `pushtech: listing pods in namespace pushtech (app.kubernetes.io/name=pushtech,app.kubernetes.io/instance=pushtech) failed: not found (404): namespaces "pushtech" not found. Check --release and --namespace (context fake, ${fake.api.url}).`,
    );
  });

  test('403 forbidden keeps the API server’s words (who, which verb, which resource)', async () => {
    fake.api.on(
      'GET',
      paths.deployment,
      statusReply(
        403,
        'Forbidden',
        'deployments.apps "pushtech-tracker" is forbidden: User "system:serviceaccount:ci:deployer" cannot get resource "deployments" in API group "apps" in the namespace "pushtech"',
      ),
    );
    const line = assertOneLine(await runCli(['scale', 'tracker', '2']));
    assert.equal(
      line,
      'pushtech: reading Deployment pushtech/pushtech-tracker failed: forbidden (403): deployments.apps "pushtech-tracker" is forbidden: User "system:serviceaccount:ci:deployer" cannot get resource "deployments" in API group "apps" in the namespace "pushtech". The account of context fake lacks a permission: grant it the RBAC listed in packages/ops/README.md, or use another --context.',
    );
  });

  test('401 unauthorized', async () => {
    fake.api.on('GET', paths.pods, statusReply(401, 'Unauthorized', 'Unauthorized'));
    const line = assertOneLine(await runCli(['status']));
    assert.match(
      line,
      /^pushtech: listing pods in namespace pushtech \(.*\) failed: unauthorized \(401\)\. The API server refused the credentials of context fake, http:\/\/127\.0\.0\.1:\d+: log in again or refresh the token in the kubeconfig\.$/,
    );
  });

  test('409 conflict', async () => {
    fake.api.on('GET', paths.deployment, {
      status: 200,
      body: {
        kind: 'Deployment',
        apiVersion: 'apps/v1',
        metadata: { name: 'pushtech-tracker' },
        spec: { replicas: 2, selector: {}, template: {} },
      },
    });
    fake.api.on('GET', paths.hpas, { status: 200, body: { items: [] } });
    fake.api.on('GET', paths.pdbs, { status: 200, body: { items: [] } });
    fake.api.on('PATCH', paths.scale, statusReply(409, 'Conflict', 'the object has been modified'));
    const line = assertOneLine(await runCli(['scale', 'tracker', '4']));
    assert.equal(
      line,
      'pushtech: scaling Deployment pushtech/pushtech-tracker to 4 failed: conflict (409): the object has been modified. The object changed while this command ran (another client or the HPA wrote it); run the command again.',
    );
  });

  test('a non-JSON error body (a proxy in front of the API server) is quoted, on one line', async () => {
    fake.api.on('GET', paths.pods, {
      status: 502,
      contentType: 'text/html',
      body: '<html>\n<h1>502 Bad Gateway</h1>\n</html>',
    });
    const line = assertOneLine(await runCli(['status']));
    assert.match(
      line,
      /failed: bad gateway \(502\): <html> <h1>502 Bad Gateway<\/h1> <\/html>\. The API server \(or the pod behind a proxy request\) had a problem; try again/,
    );
  });

  test('connection refused names the server and the context', async () => {
    const line = assertOneLine(await runCli(['status', '--context', 'other']));
    assert.match(
      line,
      /^pushtech: listing pods in namespace pushtech \(.*\) failed: cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:\d+ \(connection refused\)\. Is the cluster running \(e\.g\. `minikube start`\) and is --context right \(using other\)\?$/,
    );
    assert.deepEqual(fake.api.requests, [], '--context other does not talk to the current context’s server');
  });

  test('an API server that does not answer hits the request deadline', async () => {
    fake.api.on('GET', paths.pods, () => 'hang');
    const line = assertOneLine(
      await runCli(['status'], { connect: (options) => connect({ ...options, requestTimeoutMs: 200 }) }),
    );
    assert.match(
      line,
      /failed: no answer from the Kubernetes API within 0\.2 s\. Check that the cluster is healthy \(context fake, /,
    );
  });

  test('Ctrl-C while waiting for the API server stops at once with exit 130', async () => {
    const interrupt = new AbortController();
    fake.api.on('GET', paths.pods, () => {
      interrupt.abort();
      return 'hang';
    });
    const result = await runCli(['status'], { signal: interrupt.signal });
    assert.deepEqual(result, {
      code: 130,
      out: [],
      err: ['pushtech: interrupted; a change already sent to the cluster may still apply (check with `status`).'],
    });
  });

  test('an unknown --context lists the ones the kubeconfig has', async () => {
    const line = assertOneLine(await runCli(['status', '--context', 'prod']));
    assert.equal(
      line,
      `pushtech: context "prod" is not in the kubeconfig (KUBECONFIG=${fake.kubeconfig.path}); it has: fake, other`,
    );
    assert.deepEqual(fake.api.requests, []);
  });

  test('a KUBECONFIG that does not exist', async () => {
    const previous = process.env['KUBECONFIG'];
    process.env['KUBECONFIG'] = '/nonexistent/kubeconfig';
    try {
      const line = assertOneLine(await runCli(['status']));
      assert.equal(
        line,
        "pushtech: cannot load the kubeconfig (KUBECONFIG=/nonexistent/kubeconfig): ENOENT: no such file or directory, open '/nonexistent/kubeconfig'",
      );
    } finally {
      restoreEnv({ KUBECONFIG: previous });
    }
  });

  test('no kubeconfig at all', async () => {
    const previous = { KUBECONFIG: process.env['KUBECONFIG'], HOME: process.env['HOME'] };
    const home = mkdtempSync(path.join(tmpdir(), 'pushtech-ops-home-'));
    delete process.env['KUBECONFIG'];
    process.env['HOME'] = home;
    try {
      const line = assertOneLine(await runCli(['status']));
      assert.equal(
        line,
        'pushtech: no kubeconfig found (~/.kube/config): set KUBECONFIG or create ~/.kube/config (e.g. `minikube start`)',
      );
    } finally {
      restoreEnv(previous);
      rmSync(home, { recursive: true, force: true });
    }
  });
});
