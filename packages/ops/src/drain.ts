import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { adviseOnNotFound, ApiFailure, isApiFailure } from './api-errors.js';
import type { OpsCluster } from './cluster.js';
import { OpsError } from './errors.js';
import { findGuards, readTrackerDeployment, strictestBudget } from './guards.js';
import type { OpsIo } from './io.js';
import {
  appName,
  labelKeys,
  lowestDeletionCost,
  podDeletionCostAnnotation,
  selectorToQuery,
  trackerDeploymentName,
} from './labels.js';
import type { Invocation } from './options.js';
import { isReady, isTerminating, podName, podState, readQueue } from './pods.js';

/**
 * `drain <pod>`: make the tracker Deployment remove exactly this pod. The pod gets the lowest
 * pod-deletion-cost, so the ReplicaSet picks it when the Deployment is scaled down by one; the
 * pod's own SIGTERM handling (tracker stops accepting, kafkastore empties the pod's Redis into
 * Kafka) makes its removal lossless. Then the pod is followed until it is gone.
 */
export async function drainPod(cluster: OpsCluster, invocation: Invocation, io: OpsIo, name: string): Promise<void> {
  const { namespace, release, force } = invocation;
  const deploymentName = trackerDeploymentName(release);
  const pod = await readTargetPod(cluster, namespace, name);
  checkTrackerPod(pod, namespace, release, deploymentName);
  if (isTerminating(pod)) {
    io.out(`pod ${namespace}/${name} is already terminating; following it until it is gone.`);
    await follow(cluster, invocation, io, pod, undefined);
    return;
  }

  const deployment = await readTrackerDeployment(cluster, namespace, release);
  const desired = deployment.spec?.replicas ?? 1;
  checkSettled(deployment, deploymentName, namespace, name);
  const guards = await findGuards(cluster, namespace, deploymentName, deployment);
  const target = desired - 1;
  const refuse = (why: string, remedy: string): never => {
    throw new OpsError('refused', `refusing to drain ${namespace}/${name}: ${why}. ${remedy}`);
  };
  if (target < 1 && !force) {
    refuse(
      `it is the last tracker pod of Deployment ${deploymentName}, and with none left no pod accepts events`,
      'Pass --force to do it anyway.',
    );
  }
  const autoscaler = guards.autoscaler;
  if (autoscaler !== undefined && target < autoscaler.min && !force) {
    refuse(
      `HorizontalPodAutoscaler ${autoscaler.name} keeps at least ${autoscaler.min} tracker pods and would start a replacement right away`,
      `Lower its minimum first (\`scale tracker ${target}\`), or pass --force to replace this pod with a new one.`,
    );
  }
  const budget = strictestBudget(guards);
  if (budget !== undefined && target < budget.minAvailable && !force) {
    refuse(
      `PodDisruptionBudget ${budget.name} wants at least ${budget.minAvailable} tracker pods available, and ${target} would be left`,
      'Scale up first, or pass --force to go below it.',
    );
  }

  const selector = selectorToQuery(deployment.spec?.selector ?? {});
  const siblings = (await cluster.listPods(namespace, selector)).filter((p) => podName(p) !== name);
  const active = siblings.filter((p) => !isTerminating(p));
  const notReady = active.filter((p) => !isReady(p)).map(podName);
  if (notReady.length > 0) {
    refuse(
      `${list(notReady)} of Deployment ${deploymentName} ${notReady.length > 1 ? 'are' : 'is'} not ready, and a ReplicaSet removes not-ready pods before any other, so the scale-down would take ${notReady.length > 1 ? 'one of them' : 'it'} instead`,
      'Wait until every tracker pod is ready (see `status`).',
    );
  }
  const marked = active.filter((p) => hasLowestCost(p)).map(podName);
  if (marked.length > 0) {
    refuse(
      `${list(marked)} already ${marked.length > 1 ? 'carry' : 'carries'} ${podDeletionCostAnnotation}=${lowestDeletionCost} (an earlier drain that did not finish?), so the ReplicaSet could remove ${marked.length > 1 ? 'one of them' : 'it'} instead`,
      `Drain that pod, or remove the annotation (kubectl annotate pod -n ${namespace} ${marked[0] ?? ''} ${podDeletionCostAnnotation}-).`,
    );
  }

  if (io.signal?.aborted) {
    throw new OpsError(
      'interrupted',
      `interrupted before anything was changed; pod ${namespace}/${name} keeps running.`,
    );
  }
  const previousCost = pod.metadata?.annotations?.[podDeletionCostAnnotation] ?? null;
  await cluster.annotatePod(namespace, name, { [podDeletionCostAnnotation]: lowestDeletionCost });
  io.out(`marked pod ${namespace}/${name} to go first (${podDeletionCostAnnotation}=${lowestDeletionCost}).`);
  try {
    await cluster.scaleDeployment(namespace, deploymentName, target, deployment.metadata?.resourceVersion);
  } catch (error: unknown) {
    const restored = await restoreCost(cluster, namespace, name, previousCost);
    const annotation = restored
      ? 'the pod’s annotation was put back'
      : `the pod keeps its annotation (remove it: kubectl annotate pod -n ${namespace} ${name} ${podDeletionCostAnnotation}-)`;
    if (isApiFailure(error, 409)) {
      throw new ApiFailure(
        error.action,
        409,
        error.reason,
        `The Deployment changed after it was read (another client or the HPA scaled it); nothing was scaled and ${annotation}. Run drain again.`,
        error,
      );
    }
    if (isApiFailure(error)) {
      throw new ApiFailure(error.action, error.status, error.reason, `Nothing was scaled and ${annotation}.`, error);
    }
    throw error;
  }
  io.out(
    `scaled Deployment ${namespace}/${deploymentName} from ${desired} to ${target}; following pod ${name} until it is gone.`,
  );
  const before = new Set(siblings.filter(isTerminating).map(podName));
  await follow(cluster, invocation, io, pod, { selector, before, previousCost });
}

interface ScaleDownWatch {
  /** The Deployment's selector, to notice a ReplicaSet that removed another pod. */
  readonly selector: string;
  /** Pods already terminating before the scale-down. */
  readonly before: ReadonlySet<string>;
  readonly previousCost: string | null;
}

async function follow(
  cluster: OpsCluster,
  invocation: Invocation,
  io: OpsIo,
  pod: V1Pod,
  watch: ScaleDownWatch | undefined,
): Promise<void> {
  const { namespace, timeoutMs, intervalMs } = invocation;
  const name = podName(pod);
  const uid = pod.metadata?.uid;
  const started = Date.now();
  let current = pod;
  let lastLine = '';
  for (;;) {
    if (isTerminating(current)) {
      const reading = await readQueue(cluster, namespace, current);
      const line =
        reading.queue === undefined
          ? `draining ${name}: queue depth unknown (${reading.problem ?? 'no metrics'})`
          : `draining ${name}: queue ${reading.queue}${reading.inFlight === undefined ? '' : `, in flight ${reading.inFlight}`}`;
      if (line !== lastLine) io.out(line);
      lastLine = line;
    } else if (watch !== undefined) {
      await checkRightPodRemoved(cluster, namespace, name, watch);
    }
    if (Date.now() - started >= timeoutMs) {
      throw new OpsError(
        'timeout',
        `pod ${namespace}/${name} still exists ${Math.round(timeoutMs / 1000)} s later (${podState(current)}). It may still be draining its queue (kubectl logs -n ${namespace} ${name} -c kafkastore) or waiting for its grace period; the scale-down stays applied. Follow it with \`kubectl get pod -n ${namespace} ${name} -w\`.`,
      );
    }
    try {
      await sleep(intervalMs, undefined, { signal: io.signal });
    } catch {
      throw new OpsError(
        'interrupted',
        `stopped following pod ${namespace}/${name}; whatever was started goes on in the cluster. Follow it with \`kubectl get pod -n ${namespace} ${name} -w\`.`,
      );
    }
    try {
      current = await cluster.readPod(namespace, name);
    } catch (error: unknown) {
      if (!isApiFailure(error, 404)) throw error;
      io.out(`pod ${namespace}/${name} is gone (${Math.round((Date.now() - started) / 1000)} s).`);
      return;
    }
    if (current.metadata?.uid !== uid) {
      io.out(`pod ${namespace}/${name} is gone (a new pod now has its name).`);
      return;
    }
  }
}

/** The ReplicaSet normally acts within a second; if it removed another pod, say so rather than wait forever. */
async function checkRightPodRemoved(
  cluster: OpsCluster,
  namespace: string,
  name: string,
  watch: ScaleDownWatch,
): Promise<void> {
  const removed = (await cluster.listPods(namespace, watch.selector))
    .filter((p) => podName(p) !== name && isTerminating(p) && !watch.before.has(podName(p)))
    .map(podName);
  if (removed.length === 0) return;
  const restored = await restoreCost(cluster, namespace, name, watch.previousCost);
  throw new OpsError(
    'refused',
    `the Deployment removed ${list(removed)} instead of ${namespace}/${name}, which keeps running${restored ? '' : ' and keeps its deletion-cost annotation'}. Run drain again to remove it too.`,
  );
}

async function restoreCost(
  cluster: OpsCluster,
  namespace: string,
  name: string,
  previous: string | null,
): Promise<boolean> {
  try {
    await cluster.annotatePod(namespace, name, { [podDeletionCostAnnotation]: previous });
    return true;
  } catch {
    return false;
  }
}

function readTargetPod(cluster: OpsCluster, namespace: string, name: string): Promise<V1Pod> {
  return adviseOnNotFound(
    () => cluster.readPod(namespace, name),
    `Check the pod name and --namespace (context ${cluster.target.context}); \`status\` lists the tracker pods.`,
  );
}

function checkTrackerPod(pod: V1Pod, namespace: string, release: string, deploymentName: string): void {
  const name = podName(pod);
  const labels = pod.metadata?.labels ?? {};
  const isTracker =
    labels[labelKeys.name] === appName &&
    labels[labelKeys.instance] === release &&
    labels[labelKeys.component] === 'tracker';
  if (!isTracker) {
    const seen = [labelKeys.name, labelKeys.instance, labelKeys.component]
      .map((key) => `${key}=${labels[key] ?? '(none)'}`)
      .join(', ');
    throw new OpsError(
      'refused',
      `refusing to drain ${namespace}/${name}: it is not a tracker pod of release ${JSON.stringify(release)} (${seen}); drain removes tracker pods only (\`status\` lists them).`,
    );
  }
  const owner = pod.metadata?.ownerReferences?.find((o) => o.kind === 'ReplicaSet' && o.controller === true);
  const hash = labels['pod-template-hash'];
  if (owner === undefined || hash === undefined || owner.name !== `${deploymentName}-${hash}`) {
    throw new OpsError(
      'refused',
      `refusing to drain ${namespace}/${name}: it is not managed by Deployment ${deploymentName} (owner: ${owner ? `${owner.kind} ${owner.name}` : 'none'}), so scaling that Deployment would not remove it.`,
    );
  }
}

/** During a rollout a scale-down is spread over the old and new ReplicaSets and need not take our pod. */
function checkSettled(deployment: V1Deployment, name: string, namespace: string, pod: string): void {
  const desired = deployment.spec?.replicas ?? 1;
  const status = deployment.status ?? {};
  const observed = (status.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0);
  if (!observed || (status.replicas ?? 0) !== desired || (status.updatedReplicas ?? 0) !== desired) {
    throw new OpsError(
      'refused',
      `refusing to drain ${namespace}/${pod}: Deployment ${name} is rolling out or scaling (wants ${desired}, has ${status.replicas ?? 0} pods, ${status.updatedReplicas ?? 0} up to date), and a scale-down now need not remove this pod. Wait for \`kubectl rollout status -n ${namespace} deployment/${name}\` to finish.`,
    );
  }
}

function hasLowestCost(pod: V1Pod): boolean {
  const cost = pod.metadata?.annotations?.[podDeletionCostAnnotation];
  return cost !== undefined && Number(cost) <= Number(lowestDeletionCost);
}

function list(names: readonly string[]): string {
  return names.length === 1 ? `pod ${names[0] ?? ''}` : `pods ${names.join(', ')}`;
}
