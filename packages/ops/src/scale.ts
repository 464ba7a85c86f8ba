import type { OpsCluster } from './cluster.js';
import { OpsError } from './errors.js';
import { findGuards, readTrackerDeployment, strictestBudget } from './guards.js';
import type { OpsIo } from './io.js';
import { trackerDeploymentName } from './labels.js';
import type { Invocation } from './options.js';

/**
 * `scale tracker <n>`. Without an HPA: a merge patch of the Deployment's scale subresource. With
 * an HPA the Deployment's replica count is the HPA's to set (it would undo a direct scale within
 * its sync period), so the HPA's minReplicas becomes n instead: a floor it then keeps.
 */
export async function scaleTracker(
  cluster: OpsCluster,
  invocation: Invocation,
  io: OpsIo,
  replicas: number,
): Promise<void> {
  const { namespace, release, force } = invocation;
  const deployment = await readTrackerDeployment(cluster, namespace, release);
  const name = trackerDeploymentName(release);
  const current = deployment.spec?.replicas ?? 1;
  const guards = await findGuards(cluster, namespace, name, deployment);
  const autoscaler = guards.autoscaler;

  if (replicas === 0 && autoscaler !== undefined) {
    throw new OpsError(
      'refused',
      `refusing to scale ${namespace}/${name} to 0: HorizontalPodAutoscaler ${autoscaler.name} manages it and cannot hold 0 pods. Disable the HPA in the Helm values (or delete it), then scale to 0.`,
    );
  }
  if (replicas === 0 && !force) {
    throw new OpsError(
      'refused',
      `refusing to scale ${namespace}/${name} to 0: no tracker pod would accept events, so clients get errors and nothing is stored. Pass --force to do it anyway.`,
    );
  }
  const budget = strictestBudget(guards);
  if (budget !== undefined && replicas < budget.minAvailable && !force) {
    throw new OpsError(
      'refused',
      `refusing to scale ${namespace}/${name} to ${replicas}: PodDisruptionBudget ${budget.name} wants at least ${budget.minAvailable} tracker pods available, so every voluntary eviction (node drain, cluster upgrade) would be blocked. Pass --force to do it anyway, or lower minAvailable in the Helm values.`,
    );
  }

  if (autoscaler !== undefined) {
    if (replicas > autoscaler.max) {
      throw new OpsError(
        'refused',
        `refusing to set the minimum of HorizontalPodAutoscaler ${autoscaler.name} to ${replicas}: its maxReplicas is ${autoscaler.max}. Raise maxReplicas (Helm values) first, or ask for at most ${autoscaler.max}.`,
      );
    }
    if (replicas === autoscaler.min) {
      io.out(
        `HorizontalPodAutoscaler ${autoscaler.name} already keeps ${replicas}..${autoscaler.max} tracker pods (${current} now); nothing changed.`,
      );
      return;
    }
    await cluster.setHorizontalPodAutoscalerMinimum(namespace, autoscaler.name, replicas);
    io.out(
      `HorizontalPodAutoscaler ${autoscaler.name} manages ${namespace}/${name}: set its minReplicas ${autoscaler.min} -> ${replicas}; it now keeps ${replicas}..${autoscaler.max} tracker pods (${current} now).`,
    );
    io.out(
      replicas > current
        ? `The HPA adds the missing pods at its next sync (about 15 s).`
        : `The HPA removes pods only when the load allows, after its scale-down stabilization window (5 min by default).`,
    );
    io.out(
      'A `helm upgrade` resets minReplicas to the chart value; put the new minimum in the Helm values to keep it.',
    );
    return;
  }

  if (replicas === current) {
    io.out(`Deployment ${namespace}/${name} already wants ${replicas} tracker pods; nothing changed.`);
    return;
  }
  await cluster.scaleDeployment(namespace, name, replicas);
  io.out(`scaled Deployment ${namespace}/${name} from ${current} to ${replicas} tracker pods.`);
  if (replicas < current) {
    io.out(
      'Each removed pod stops accepting and ends once its events are safe (sidecar layout: its Redis drained to Kafka); to choose which pod goes, use `drain <pod>`.',
    );
  }
}
