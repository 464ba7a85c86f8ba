import { createAdmin, silentLogger, type KafkaAdmin } from '@pushtech/runtime';

/** A Kafka admin client, connected on first use, for what the scenarios ask of consumer groups. */
export class GroupAdmin {
  private admin: Promise<KafkaAdmin> | undefined;

  constructor(
    private readonly brokers: string,
    private readonly clientId: string,
  ) {}

  private connected(): Promise<KafkaAdmin> {
    this.admin ??= (async () => {
      const admin = createAdmin({ brokers: [this.brokers], clientId: this.clientId }, silentLogger());
      await admin.connect();
      return admin;
    })().catch((error: unknown) => {
      this.admin = undefined;
      throw error;
    });
    return this.admin;
  }

  /** Whether every group has committed up to the topic's end, on every partition. */
  async caughtUp(topic: string, groups: readonly string[]): Promise<boolean> {
    const admin = await this.connected();
    const ends = await admin.topicOffsets(topic);
    // No partitions known (metadata not there yet) is not "everything committed".
    if (ends.length === 0) return false;
    for (const group of groups) {
      const committed = new Map((await admin.groupOffsets(group, topic)).map((o) => [o.partition, BigInt(o.offset)]));
      if (ends.some((end) => (committed.get(end.partition) ?? -1n) < BigInt(end.high))) return false;
    }
    return true;
  }

  /** Deletes the groups (their processes have stopped), then disconnects. */
  async deleteGroupsAndClose(groups: readonly string[]): Promise<void> {
    const admin = await this.connected();
    try {
      await admin.deleteGroups(groups);
    } finally {
      this.admin = undefined;
      await admin.disconnect();
    }
  }
}
