import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createAdmin, silentLogger } from '@pushtech/runtime';
import { startKafkaBroker, serverProperties } from '../src/kafka-broker.js';
import { ensureKafkaJars } from '../src/kafka-jars.js';
import { cacheDir } from '../src/paths.js';
import { freePort, isListening } from '../src/ports.js';

describe('serverProperties', () => {
  it('is a loopback-only single-node KRaft config with replication factors of 1', () => {
    const props = serverProperties({ port: 1, controllerPort: 2, logDir: '/d' });
    for (const line of [
      'process.roles=broker,controller',
      'controller.quorum.voters=1@127.0.0.1:2',
      'listeners=PLAINTEXT://127.0.0.1:1,CONTROLLER://127.0.0.1:2',
      'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      'log.dirs=/d',
    ]) {
      assert.ok(props.split('\n').includes(line), `missing ${line}`);
    }
  });
});

describe('startKafkaBroker', () => {
  it('formats storage, answers metadata requests, and stops leaving no process or port behind', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kafka-test-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const jars = await ensureKafkaJars({ cacheRoot: cacheDir(process.env) });
    const [port, controllerPort] = [await freePort(), await freePort()];
    const broker = await startKafkaBroker({ libsDir: jars.libsDir, dir, port, controllerPort, heapMb: 256 });
    t.after(() => broker.stop());

    assert.match(readFileSync(path.join(dir, 'data', 'meta.properties'), 'utf8'), /cluster\.id=/);
    const admin = createAdmin({ brokers: [broker.brokers], clientId: 'broker-test' }, silentLogger());
    await admin.connect();
    t.after(() => admin.disconnect());
    assert.deepEqual(await admin.ensureTopics([{ topic: 'probe', partitions: 2 }]), ['probe']);
    assert.deepEqual(await admin.ensureTopics([{ topic: 'probe', partitions: 2 }]), [], 'second call creates nothing');
    assert.equal((await admin.topicOffsets('probe')).length, 2);
    // A creation the broker refuses is reported with its reason, not waited on as one in flight.
    await assert.rejects(
      admin.ensureTopics([{ topic: 'three-copies', partitions: 1, replicationFactor: 3 }]),
      /cannot create topics: Topic creation errors \(three-copies: Replication-factor is invalid\)/,
    );
    assert.equal((await admin.listTopics()).includes('three-copies'), false);
    await admin.disconnect();

    await broker.stop();
    assert.equal(broker.process.hasExited, true);
    assert.equal(await isListening(port), false);
    assert.equal(await isListening(controllerPort), false);
  });

  it("says why the storage format failed on the error's first line", async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kafka-test-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // The log directory's place is taken by a file: Kafka's tool cannot write meta.properties.
    writeFileSync(path.join(dir, 'data'), 'not a directory\n');
    const jars = await ensureKafkaJars({ cacheRoot: cacheDir(process.env) });
    const [port, controllerPort] = [await freePort(), await freePort()];
    await assert.rejects(
      startKafkaBroker({ libsDir: jars.libsDir, dir, port, controllerPort, heapMb: 256 }),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        const first = error.message.split('\n')[0] ?? '';
        assert.match(first, /^kafka storage format failed \(exit 1\): No available log directories to format\.$/);
        return true;
      },
    );
    assert.equal(await isListening(port), false, 'no broker was started');
  });
});
