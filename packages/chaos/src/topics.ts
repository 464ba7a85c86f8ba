import { randomBytes } from 'node:crypto';
import { createAdmin, silentLogger } from '@pushtech/runtime';

export interface AuditTopics {
  readonly topic: string;
  readonly deadLetterTopic: string;
}

/**
 * A fresh event topic and dead-letter topic for one scenario. The broker stamps each message
 * with the time it appended it (LogAppendTime), which is the moment an event "reached Kafka":
 * recovery times do not depend on how fast the auditor happens to read.
 */
export async function createAuditTopics(brokers: string, prefix: string, partitions = 3): Promise<AuditTopics> {
  const topic = `${prefix}-${randomBytes(4).toString('hex')}`;
  // On a cluster the topics get its replication factor (3) and min.insync.replicas (2) by default.
  const admin = createAdmin({ brokers: brokers.split(','), clientId: `${prefix}-admin` }, silentLogger());
  await admin.connect();
  try {
    const config = { 'message.timestamp.type': 'LogAppendTime' };
    await admin.ensureTopics([
      { topic, partitions, config },
      { topic: `${topic}.dlq`, partitions: 1, config },
    ]);
  } finally {
    await admin.disconnect();
  }
  return { topic, deadLetterTopic: `${topic}.dlq` };
}

export async function deleteAuditTopics(brokers: string, topics: AuditTopics): Promise<void> {
  const admin = createAdmin({ brokers: brokers.split(','), clientId: 'chaos-admin' }, silentLogger());
  await admin.connect();
  try {
    await admin.deleteTopics([topics.topic, topics.deadLetterTopic]);
  } finally {
    await admin.disconnect();
  }
}
