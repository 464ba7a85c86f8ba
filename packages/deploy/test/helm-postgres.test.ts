/**
 * The PostgreSQL sink in the chart (issue 24): postgres_sink and kafidx's Insights take
 * POSTGRES_URL from a Secret, an existing one (an external database) or the demo instance's,
 * never as a value in the manifest; the sink without a database is refused with the fix.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container, V1EnvVar } from '@kubernetes/client-node';
import type { KubeObject } from '../src/k8s-manifests.js';
import { podContainers, workloads } from '../src/k8s-workloads.js';
import { refusal, render } from './helm-render.js';

function container(objects: readonly KubeObject[], workloadName: RegExp, name: string): V1Container {
  for (const w of workloads(objects)) {
    if (!workloadName.test(w.object.metadata.name)) continue;
    const found = podContainers(w.spec).find((c) => c.container.name === name);
    if (found) return found.container;
  }
  assert.fail(`no container ${name} in a workload matching ${String(workloadName)}`);
}

const postgresUrl = (c: V1Container): V1EnvVar | undefined => c.env?.find((e) => e.name === 'POSTGRES_URL');

describe('helm chart: the PostgreSQL sink', () => {
  it('by default: no sink Deployment, no PostgreSQL, kafidx without POSTGRES_URL', () => {
    const objects = render();
    assert.ok(!objects.some((o) => o.metadata.name.includes('postgres')), 'nothing named postgres');
    assert.equal(postgresUrl(container(objects, /-kafidx$/, 'kafidx')), undefined);
  });

  it('an external database: POSTGRES_URL from the given Secret for the sink and kafidx', () => {
    const objects = render({
      set: {
        'consumers.list.postgres_sink.enabled': true,
        'postgres.existingSecret': 'events-db',
        'postgres.secretKey': 'url',
      },
    });
    const expected = { name: 'POSTGRES_URL', valueFrom: { secretKeyRef: { name: 'events-db', key: 'url' } } };
    const sink = container(objects, /-consumer-postgres-sink$/, 'consumer');
    assert.deepEqual(postgresUrl(sink), expected);
    assert.equal(sink.env?.find((e) => e.name === 'CONSUMER_NAME')?.value, 'postgres_sink');
    assert.deepEqual(postgresUrl(container(objects, /-kafidx$/, 'kafidx')), expected);
    assert.ok(!objects.some((o) => o.kind === 'StatefulSet' && o.metadata.name.endsWith('-postgres')), 'no demo');
  });

  it('the demo instance: a StatefulSet, its Service and the Secret the sink reads', () => {
    const objects = render({ set: { 'consumers.list.postgres_sink.enabled': true, 'postgres.demo.enabled': true } });
    const statefulSet = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name.endsWith('-postgres'));
    assert.ok(statefulSet, 'a demo StatefulSet');
    const secret: KubeObject | undefined = objects.find(
      (o) => o.kind === 'Secret' && o.metadata.name === statefulSet.metadata.name,
    );
    assert.equal(
      (secret?.['stringData'] as Record<string, string> | undefined)?.['POSTGRES_URL'],
      `postgres://pushtech@${statefulSet.metadata.name}:5432/pushtech`,
    );
    assert.ok(objects.some((o) => o.kind === 'Service' && o.metadata.name === statefulSet.metadata.name));
    const sink = container(objects, /-consumer-postgres-sink$/, 'consumer');
    assert.deepEqual(postgresUrl(sink)?.valueFrom?.secretKeyRef, {
      name: statefulSet.metadata.name,
      key: 'POSTGRES_URL',
    });
  });

  it('the sink without a database is refused with what to set', () => {
    assert.match(
      refusal({ set: { 'consumers.list.postgres_sink.enabled': true } }),
      /postgres_sink needs a PostgreSQL: set postgres\.existingSecret .* or postgres\.demo\.enabled/,
    );
  });
});
