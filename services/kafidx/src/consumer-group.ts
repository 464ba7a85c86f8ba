import { createAdmin, type KafkaConnection, type Logger } from '@pushtech/runtime';

/**
 * Deletes a consumer group kafidx made for itself once its consumer has left. kafidx never
 * commits offsets, so a group left by a crash or a failed deletion holds none, and the broker
 * drops it by itself (offsets.retention.check.interval.ms).
 */
export async function deleteOwnGroup(connection: KafkaConnection, logger: Logger, groupId: string): Promise<void> {
  const admin = createAdmin(connection, logger);
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
  } catch (error: unknown) {
    logger.warn({ err: error, groupId }, 'could not delete a kafidx consumer group');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
