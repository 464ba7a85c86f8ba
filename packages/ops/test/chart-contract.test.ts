/**
 * The CLI's assumptions about the Helm chart, checked against the rendered layouts in
 * kubernetes/ (separate) and kubernetes.two/ (sidecar): names, labels, metrics ports, the HPA and
 * the PodDisruptionBudget of the tracker. A chart change that would blind `status` or mislead
 * `drain` fails here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  loadAllYaml,
  type V1Deployment,
  type V1Pod,
  type V1PodDisruptionBudget,
  type V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { OpsCluster } from '../src/cluster.js';
import { findGuards } from '../src/guards.js';
import { labelKeys, releaseSelector, selectorMatches, selectorToQuery, trackerDeploymentName } from '../src/labels.js';
import { metricsPorts } from '../src/pods.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const release = 'pushtech';
const namespace = 'pushtech';

interface Manifest {
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: { template?: { metadata?: { labels?: Record<string, string> } } };
}

function load(dir: string): Manifest[] {
  const folder = path.join(repoRoot, dir);
  const files = readdirSync(folder).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'));
  assert.ok(files.length > 0, `${dir}/ holds the rendered chart (npm run k8s:render)`);
  return files.flatMap((file) => {
    const docs: unknown[] = loadAllYaml(readFileSync(path.join(folder, file), 'utf8'));
    return docs.filter((d): d is Manifest => typeof d === 'object' && d !== null);
  });
}

/** Stands in for the API only where findGuards lists objects; any other call is a test bug. */
function listing(hpas: V2HorizontalPodAutoscaler[], pdbs: V1PodDisruptionBudget[]): OpsCluster {
  const unexpected = (): never => {
    throw new Error('findGuards only lists HPAs and PDBs');
  };
  return {
    target: { context: 'rendered', server: 'file:' },
    readDeployment: unexpected,
    scaleDeployment: unexpected,
    listPods: unexpected,
    readPod: unexpected,
    annotatePod: unexpected,
    listHorizontalPodAutoscalers: () => Promise.resolve(hpas),
    setHorizontalPodAutoscalerMinimum: unexpected,
    listPodDisruptionBudgets: () => Promise.resolve(pdbs),
    podMetrics: unexpected,
  };
}

const layouts = [
  { dir: 'kubernetes', topology: 'separate', ports: { tracker: 8380, kafkastore: undefined } },
  { dir: 'kubernetes.two', topology: 'sidecar', ports: { tracker: 8380, kafkastore: 8381 } },
] as const;

for (const layout of layouts) {
  describe(`the CLI against the rendered ${layout.topology} layout (${layout.dir}/)`, () => {
    const manifests = load(layout.dir);
    const tracker = manifests.find(
      (m) => m.kind === 'Deployment' && m.metadata?.name === trackerDeploymentName(release),
    ) as V1Deployment | undefined;

    test('the tracker Deployment has the name, namespace and pod labels the CLI looks for', () => {
      assert.ok(tracker, `a Deployment ${trackerDeploymentName(release)}`);
      assert.equal(tracker.metadata?.namespace, namespace);
      const labels = tracker.spec?.template.metadata?.labels;
      assert.equal(labels?.[labelKeys.name], 'pushtech');
      assert.equal(labels?.[labelKeys.instance], release);
      assert.equal(labels?.[labelKeys.component], 'tracker');
      const selector = tracker.spec?.selector;
      assert.ok(selectorMatches(selector, labels), 'its selector matches its pods');
      assert.match(selectorToQuery(selector ?? {}), /app\.kubernetes\.io\/component=tracker/);
    });

    test('status and drain find the metrics ports of a tracker pod', () => {
      const pod: V1Pod = { metadata: tracker?.spec?.template.metadata, spec: tracker?.spec?.template.spec };
      assert.deepEqual(metricsPorts(pod), layout.ports);
    });

    test('every workload’s pods are found by the release selector and grouped by component', () => {
      const selector = releaseSelector(release);
      const workloads = manifests.filter((m) => ['Deployment', 'StatefulSet', 'Job'].includes(m.kind ?? ''));
      assert.ok(workloads.length >= 4, 'tracker, redis or sidecar, kafka, consumers, kafidx');
      for (const workload of workloads) {
        const labels = workload.spec?.template?.metadata?.labels ?? {};
        const matches = selector.split(',').every((pair) => {
          const [key, value] = pair.split('=');
          return labels[key ?? ''] === value;
        });
        assert.ok(matches, `${workload.kind} ${workload.metadata?.name} pods carry ${selector}`);
        assert.ok(labels[labelKeys.component], `${workload.kind} ${workload.metadata?.name} pods carry a component`);
      }
    });

    test('the tracker’s HPA and PodDisruptionBudget are the ones the safety checks read', async () => {
      assert.ok(tracker);
      const hpas = manifests.filter((m) => m.kind === 'HorizontalPodAutoscaler') as V2HorizontalPodAutoscaler[];
      const pdbs = manifests.filter((m) => m.kind === 'PodDisruptionBudget') as V1PodDisruptionBudget[];
      const guards = await findGuards(listing(hpas, pdbs), namespace, trackerDeploymentName(release), tracker);
      assert.ok(guards.autoscaler, 'an HPA targets the tracker Deployment');
      assert.ok(guards.autoscaler.min >= 1 && guards.autoscaler.max >= guards.autoscaler.min);
      assert.deepEqual(
        guards.budgets.map((b) => b.name),
        [trackerDeploymentName(release)],
        'exactly the tracker’s own PodDisruptionBudget covers tracker pods',
      );
    });
  });
}
