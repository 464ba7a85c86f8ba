import { partitionPlacements, type PartitionPlacement } from '@pushtech/devstack';
import { sleep } from './sleep.js';

/** Polls the topic's placements until `done` holds; returns them and when it held. */
export async function placementsOnce(
  brokers: string,
  topic: string,
  done: (placements: readonly PartitionPlacement[]) => boolean,
  timeoutMs: number,
  what: string,
): Promise<{ placements: PartitionPlacement[]; at: number }> {
  const deadline = Date.now() + timeoutMs;
  let last: PartitionPlacement[] = [];
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      last = await partitionPlacements(brokers, topic);
      if (last.length > 0 && done(last)) return { placements: last, at: Date.now() };
    } catch (error: unknown) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await sleep(200);
  }
  throw new Error(
    `${what}: not after ${timeoutMs} ms; last placements ${JSON.stringify(last)}${lastError ? `, ${lastError}` : ''}`,
  );
}

/** Every partition has a leader, and it is not the dead node. */
export const ledByLiving =
  (dead: number) =>
  (ps: readonly PartitionPlacement[]): boolean =>
    ps.every((p) => p.leader >= 0 && p.leader !== dead);
/** Every replica of every partition is in sync. */
export const allInSync = (ps: readonly PartitionPlacement[]): boolean =>
  ps.every((p) => p.isr.length === p.replicas.length);
