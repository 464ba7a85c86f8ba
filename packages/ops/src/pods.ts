import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { OpsCluster } from './cluster.js';
import { isApiFailure } from './api-errors.js';
import { describeError } from './errors.js';
import { metricNames, readMetric } from './prometheus.js';

/** The services' default ports (services/tracker TRACKER_PORT, services/kafkastore KAFKASTORE_PORT). */
export const defaultPorts = { tracker: 8380, kafkastore: 8381 } as const;

export function podName(pod: V1Pod): string {
  return pod.metadata?.name ?? '(unnamed)';
}

export function isTerminating(pod: V1Pod): boolean {
  return pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
}

export function isReady(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** What `kubectl get pods` would show in its STATUS column, near enough for an overview. */
export function podState(pod: V1Pod): string {
  if (isTerminating(pod)) return 'Terminating';
  for (const status of pod.status?.containerStatuses ?? []) {
    const waiting = status.state?.waiting?.reason;
    if (waiting) return waiting;
  }
  return pod.status?.phase ?? 'Unknown';
}

/**
 * Where a tracker pod serves /metrics: the tracker container's port, and in the sidecar layout
 * also the kafkastore container's (a regular container or a native sidecar init container).
 */
export function metricsPorts(pod: V1Pod): { tracker: number; kafkastore: number | undefined } {
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  const tracker = containers.find((c) => c.name === 'tracker') ?? pod.spec?.containers[0];
  const kafkastore = containers.find((c) => c.name === 'kafkastore');
  return {
    tracker: firstPort(tracker) ?? defaultPorts.tracker,
    kafkastore: kafkastore ? (firstPort(kafkastore) ?? defaultPorts.kafkastore) : undefined,
  };
}

function firstPort(container: V1Container | undefined): number | undefined {
  const ports = container?.ports ?? [];
  return (ports.find((p) => p.name === 'http') ?? ports[0])?.containerPort;
}

export interface QueueReading {
  /** Events waiting in the pod's Redis list. */
  readonly queue: number | undefined;
  /** Events kafkastore has taken and not yet seen acknowledged by Kafka (sidecar layout). */
  readonly inFlight: number | undefined;
  /** Why a value is missing, when it is. */
  readonly problem: string | undefined;
}

/**
 * Reads a tracker pod's queue depth. In the sidecar layout kafkastore's numbers win: while the pod
 * drains, the tracker has already stopped, and kafkastore is the one emptying the list.
 */
export async function readQueue(cluster: OpsCluster, namespace: string, pod: V1Pod): Promise<QueueReading> {
  const name = podName(pod);
  const ports = metricsPorts(pod);
  const problems: string[] = [];
  if (ports.kafkastore !== undefined) {
    try {
      const text = await cluster.podMetrics(namespace, name, ports.kafkastore);
      const queue = readMetric(text, metricNames.kafkastoreQueue);
      const inFlight = readMetric(text, metricNames.kafkastoreProcessing);
      if (queue !== undefined) return { queue, inFlight, problem: undefined };
      problems.push(`kafkastore does not export ${metricNames.kafkastoreQueue}`);
    } catch (error: unknown) {
      problems.push(isApiFailure(error) ? error.summary : describeError(error));
    }
  }
  try {
    const text = await cluster.podMetrics(namespace, name, ports.tracker);
    const queue = readMetric(text, metricNames.trackerQueue);
    if (queue !== undefined) return { queue, inFlight: undefined, problem: undefined };
    problems.push(`the tracker does not export ${metricNames.trackerQueue}`);
  } catch (error: unknown) {
    problems.push(isApiFailure(error) ? error.summary : describeError(error));
  }
  return { queue: undefined, inFlight: undefined, problem: problems.join('; ') };
}
