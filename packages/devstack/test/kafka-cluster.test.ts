/**
 * The three-node KRaft cluster (DEVSTACK_KAFKA_NODES=3): its layout, its topics' replication,
 * and that an acknowledged write survives the SIGKILL of the broker leading most partitions,
 * with both Kafka clients. The control kills a second node: with one broker of three left, no
 * write is acknowledged (min.insync.replicas 2), which shows the acknowledgement means "on two".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createAdmin,
  createProducer,
  kafkaClients,
  silentLogger,
  type KafkaConnection,
  type PartitionBatch,
} from '@pushtech/runtime';
import { replicationFor, serverProperties } from '../src/kafka-broker.js';
import { activeController, busiestLeader, partitionPlacements } from '../src/kafka-cluster.js';
import { pipelineTopics } from '../src/settings.js';
import { startTestCluster } from '../src/test-cluster.js';

describe('cluster layout', () => {
  it('a node of three: its id, every voter, replication factor 3 and min.insync.replicas 2', () => {
    const voters = [1, 2, 3].map((nodeId) => ({ nodeId, controllerPort: 100 + nodeId }));
    const lines = serverProperties({
      port: 7,
      controllerPort: 102,
      logDir: '/d',
      cluster: { nodeId: 2, voters },
    }).split('\n');
    for (const line of [
      'node.id=2',
      'controller.quorum.voters=1@127.0.0.1:101,2@127.0.0.1:102,3@127.0.0.1:103',
      'listeners=PLAINTEXT://127.0.0.1:7,CONTROLLER://127.0.0.1:102',
      'default.replication.factor=3',
      'min.insync.replicas=2',
      'offsets.topic.replication.factor=3',
      'transaction.state.log.replication.factor=3',
      'transaction.state.log.min.isr=2',
    ]) {
      assert.ok(lines.includes(line), `missing ${line}`);
    }
  });

  it('replication is min(3, nodes), and two in sync from three nodes on', () => {
    const table: [number, { factor: number; minInsync: number }][] = [
      [1, { factor: 1, minInsync: 1 }],
      [2, { factor: 2, minInsync: 1 }],
      [3, { factor: 3, minInsync: 2 }],
      [5, { factor: 3, minInsync: 2 }],
    ];
    for (const [nodes, expected] of table) assert.deepEqual(replicationFor(nodes), expected, `${nodes} nodes`);
  });

  it("the pipeline's topics ask for the cluster's replication; on one node they stay as before", () => {
    const base = { KAFKA_TOPIC: 'events', KAFKA_DLQ_TOPIC: '', KAFKA_TOPIC_PARTITIONS: 6 };
    assert.deepEqual(pipelineTopics({ ...base, DEVSTACK_KAFKA_NODES: '1' }), [
      { topic: 'events', partitions: 6 },
      { topic: 'events.dlq', partitions: 1 },
    ]);
    const replicated = { replicationFactor: 3, config: { 'min.insync.replicas': '2' } };
    assert.deepEqual(pipelineTopics({ ...base, DEVSTACK_KAFKA_NODES: '3' }), [
      { topic: 'events', partitions: 6, ...replicated },
      { topic: 'events.dlq', partitions: 1, ...replicated },
    ]);
  });

  it('the busiest leader is the node leading most partitions', () => {
    const at = (leader: number, partition: number) => ({ partition, leader, replicas: [1, 2, 3], isr: [1, 2, 3] });
    assert.deepEqual(busiestLeader([at(1, 0), at(2, 1), at(2, 2), at(3, 3)]), { nodeId: 2, partitions: 2 });
    assert.deepEqual(busiestLeader([at(3, 0), at(1, 1)]), { nodeId: 1, partitions: 1 }, 'a tie: the lowest id');
    assert.deepEqual(busiestLeader([at(-1, 0)]), { nodeId: -1, partitions: 0 }, 'no leader at all');
  });
});

describe('three-node cluster', () => {
  it(
    'acknowledged writes survive a SIGKILLed leader with both clients; with one node left none is acknowledged',
    { timeout: 600_000 },
    async (t) => {
      const started = Date.now();
      const cluster = await startTestCluster(t);
      t.diagnostic(`three nodes answering after ${Date.now() - started} ms`);
      const brokers = cluster.brokers.split(',');
      const admin = createAdmin({ brokers, clientId: 'cluster-test' }, silentLogger());
      await admin.connect();
      t.after(() => admin.disconnect());

      assert.deepEqual(
        (await admin.describeCluster()).brokers.map((b) => b.nodeId).sort(),
        [1, 2, 3],
        'every node is a broker of the one cluster',
      );
      assert.ok([1, 2, 3].includes(await activeController(cluster)), 'the quorum has a leader among the nodes');

      const [events, dlq] = pipelineTopics({
        KAFKA_TOPIC: 'events',
        KAFKA_DLQ_TOPIC: '',
        KAFKA_TOPIC_PARTITIONS: 6,
        DEVSTACK_KAFKA_NODES: '3',
      });
      // A topic created without a replication factor gets the cluster's default, 3, as well.
      await admin.ensureTopics([events!, dlq!, { topic: 'unspecified', partitions: 2 }]);
      for (const topic of ['events', 'events.dlq', 'unspecified']) {
        for (const p of await partitionPlacements(cluster.brokers, topic)) {
          assert.equal(p.replicas.length, 3, `${topic}/${p.partition} has three replicas`);
        }
      }

      // As kafkastore does: one batch per partition, and only a partition the cluster refused
      // is sent again, so a retry never repeats what was acknowledged.
      let acknowledged = 0;
      const sendWithEachClient = async (round: string): Promise<void> => {
        for (const client of kafkaClients) {
          const connection: KafkaConnection = { brokers, clientId: `cluster-test-${client}`, client };
          const producer = createProducer(connection, silentLogger());
          await producer.connect();
          try {
            let pending: PartitionBatch[] = Array.from({ length: 6 }, (_, partition) => ({
              topic: 'events',
              partition,
              messages: Array.from({ length: 10 }, (_, i) => ({ value: `${round} ${client} ${partition}/${i}` })),
            }));
            const deadline = Date.now() + 120_000;
            while (pending.length > 0) {
              const outcomes = await producer.produce(pending);
              const refused = new Set(outcomes.filter((o) => o.kind === 'failed').map((o) => o.partition));
              for (const b of pending) if (!refused.has(b.partition)) acknowledged += b.messages.length;
              pending = pending.filter((b) => refused.has(b.partition));
              if (pending.length > 0) {
                assert.ok(Date.now() < deadline, `still refused after 120 s: ${JSON.stringify(outcomes)}`);
                await new Promise((r) => setTimeout(r, 250));
              }
            }
          } finally {
            await producer.disconnect();
          }
        }
      };
      const stored = async (): Promise<number> =>
        (await admin.topicOffsets('events')).reduce((sum, p) => sum + Number(p.high), 0);

      await sendWithEachClient('before');
      const victim = busiestLeader(await partitionPlacements(cluster.brokers, 'events'));
      assert.ok(victim.partitions >= 1);
      const killedAt = Date.now();
      await cluster.kill(victim.nodeId);
      await sendWithEachClient('after');
      t.diagnostic(
        `node ${victim.nodeId} (leader of ${victim.partitions} partitions) SIGKILLed; both clients acknowledged again after ${Date.now() - killedAt} ms`,
      );
      const after = await partitionPlacements(cluster.brokers, 'events');
      assert.ok(
        after.every((p) => p.leader !== victim.nodeId && p.leader >= 0),
        `every partition has a new leader: ${JSON.stringify(after)}`,
      );
      assert.equal(await stored(), acknowledged, 'every acknowledged message is stored, once');

      // The control: one node of three left. Nothing may be acknowledged now. Each step is
      // noted, so that a hang says where it was (one was: kill() awaited an unref'd node's exit
      // with nothing else holding the event loop; startProcess now refs a child it waits for).
      const step = (what: string): void => t.diagnostic(`${Date.now() - started} ms: ${what}`);
      const second = cluster.running.find((n) => n.nodeId !== victim.nodeId);
      assert.ok(second);
      await cluster.kill(second.nodeId);
      step(`node ${second.nodeId} SIGKILLed too`);
      const lone = createProducer(
        { brokers, clientId: 'cluster-test-lone', requestTimeoutMs: 5_000, retries: 1 },
        silentLogger(),
      );
      const connected = await lone.connect().then(
        () => 'connected',
        (error: unknown) => `not connected (${String(error)})`,
      );
      step(`a lone producer: ${connected}`);
      t.after(() => lone.disconnect().catch(() => undefined));
      await assert.rejects(
        lone.send('events', [{ key: 'device-0', value: 'with one node left' }]),
        'a write is refused while only one replica could hold it',
      );
      step('its write was refused');

      await Promise.all([cluster.startNode(victim.nodeId), cluster.startNode(second.nodeId)]);
      step('both nodes started again');
      assert.ok((await stored()) >= acknowledged, 'what was acknowledged is still there after both came back');
    },
  );
});
