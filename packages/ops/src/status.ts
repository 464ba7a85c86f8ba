import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { isApiFailure } from './api-errors.js';
import type { OpsCluster } from './cluster.js';
import { OpsError } from './errors.js';
import { findGuards, type Guards } from './guards.js';
import { table, type OpsIo } from './io.js';
import { labelKeys, releaseSelector, trackerDeploymentName } from './labels.js';
import type { Invocation } from './options.js';
import { isReady, isTerminating, podName, podState, readQueue, type QueueReading } from './pods.js';

/** Components in pipeline order; anything else the chart adds is listed after them. */
const componentOrder = ['tracker', 'redis', 'kafkastore', 'kafka', 'kafka-topics', 'consumer', 'kafidx'];

/** `status`: pods per component with ready counts, then each tracker pod with its queue depth. */
export async function showStatus(cluster: OpsCluster, invocation: Invocation, io: OpsIo): Promise<void> {
  const { namespace, release } = invocation;
  const pods = await cluster.listPods(namespace, releaseSelector(release));
  if (pods.length === 0) {
    throw new OpsError(
      'refused',
      `no pods of release ${JSON.stringify(release)} in namespace ${namespace} (context ${cluster.target.context}, selector ${releaseSelector(release)}). Check --release, --namespace and --context.`,
    );
  }
  const deployment = await optionalTrackerDeployment(cluster, namespace, release);
  const guards = deployment
    ? await findGuards(cluster, namespace, trackerDeploymentName(release), deployment)
    : undefined;

  const byComponent = new Map<string, V1Pod[]>();
  for (const pod of pods) {
    const component = pod.metadata?.labels?.[labelKeys.component] ?? '(no component label)';
    byComponent.set(component, [...(byComponent.get(component) ?? []), pod]);
  }
  const components = [...byComponent.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

  io.out(`release ${release} in namespace ${namespace} (context ${cluster.target.context})`);
  io.out('');
  const componentRows = components.map((component) => {
    const members = byComponent.get(component) ?? [];
    // A Job's finished pods (topic creation) and terminating pods are not expected to be ready.
    const finished = (phase: string) => members.filter((p) => !isTerminating(p) && p.status?.phase === phase).length;
    const notes = [
      [members.filter(isTerminating).length, 'terminating'],
      [finished('Succeeded'), 'completed'],
      [finished('Failed'), 'failed'],
    ] as const;
    const running = members.filter(
      (p) => !isTerminating(p) && !['Succeeded', 'Failed'].includes(p.status?.phase ?? ''),
    );
    const ready = running.filter(isReady).length;
    const note = notes
      .filter(([n]) => n > 0)
      .map(([n, what]) => `${n} ${what}`)
      .join(', ');
    return [component, `${ready}/${running.length}`, note];
  });
  for (const line of table([['COMPONENT', 'READY', ''], ...componentRows])) io.out(line);

  io.out('');
  io.out(trackerSummary(release, deployment, guards));
  const trackers = (byComponent.get('tracker') ?? []).sort((a, b) => podName(a).localeCompare(podName(b)));
  if (trackers.length === 0) return;
  const readings = await Promise.all(trackers.map((pod) => readQueue(cluster, namespace, pod)));
  const sidecar = readings.some((r) => r.inFlight !== undefined);
  const rows = trackers.map((pod, i) => {
    const reading = readings[i] as QueueReading;
    const row = [podName(pod), isReady(pod) ? 'yes' : 'no', podState(pod), count(reading.queue)];
    return sidecar ? [...row, count(reading.inFlight)] : row;
  });
  const header = ['TRACKER POD', 'READY', 'STATUS', 'QUEUE'];
  io.out('');
  for (const line of table([sidecar ? [...header, 'IN FLIGHT'] : header, ...rows])) io.out(line);
  trackers.forEach((pod, i) => {
    const problem = readings[i]?.problem;
    if (problem !== undefined) io.out(`  ${podName(pod)}: queue depth unknown: ${problem}`);
  });
}

async function optionalTrackerDeployment(
  cluster: OpsCluster,
  namespace: string,
  release: string,
): Promise<V1Deployment | undefined> {
  try {
    return await cluster.readDeployment(namespace, trackerDeploymentName(release));
  } catch (error: unknown) {
    if (isApiFailure(error, 404)) return undefined;
    throw error;
  }
}

function trackerSummary(release: string, deployment: V1Deployment | undefined, guards: Guards | undefined): string {
  const name = trackerDeploymentName(release);
  if (deployment === undefined) return `tracker: no Deployment ${name}`;
  const parts = [
    `tracker: Deployment ${name} wants ${deployment.spec?.replicas ?? 1}`,
    `${deployment.status?.readyReplicas ?? 0} ready`,
    `${deployment.status?.updatedReplicas ?? 0} up to date`,
  ];
  const autoscaler = guards?.autoscaler;
  if (autoscaler) parts.push(`HPA ${autoscaler.name} keeps ${autoscaler.min}..${autoscaler.max}`);
  for (const budget of guards?.budgets ?? []) {
    if (budget.minAvailable !== undefined) parts.push(`PDB ${budget.name} minAvailable ${budget.minAvailable}`);
  }
  return parts.join(', ');
}

function rank(component: string): number {
  const index = componentOrder.indexOf(component);
  return index < 0 ? componentOrder.length : index;
}

function count(value: number | undefined): string {
  return value === undefined ? '?' : String(value);
}
