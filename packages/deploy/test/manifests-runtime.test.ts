/**
 * The commands the manifests run, run for real: every Redis container's command line starts a
 * real redis-server configured as the buffer must be, and the topic Job's script creates the
 * topics on a real Kafka broker (the test stack's), twice without complaint.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import type { V1Container, V1Job } from '@kubernetes/client-node';
import { createAdmin, silentLogger } from '@pushtech/runtime';
import { cacheDir, ensureKafkaJars, requireCommand } from '@pushtech/devstack';
import { eventually, testInfra, uniqueName } from '@pushtech/devstack/testing';
import { layouts, RELEASE } from '../src/k8s-helm.js';
import { readLayoutObjects } from '../src/k8s-manifests.js';
import { containerNamed, envValue, workloadNamed } from '../src/k8s-workloads.js';

const run = promisify(execFile);

function scratchDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The container's arguments with one flag's value replaced (the flag must be there). */
function withArg(args: readonly string[], flag: string, value: string): string[] {
  const at = args.indexOf(flag);
  assert.ok(at >= 0 && at + 1 < args.length, `${flag} is not among the arguments`);
  return [...args.slice(0, at + 1), value, ...args.slice(at + 2)];
}

function redisContainers(): Array<{ where: string; container: V1Container }> {
  const found: Array<{ where: string; container: V1Container }> = [];
  for (const layout of layouts) {
    const objects = readLayoutObjects(layout.dir);
    const tracker = workloadNamed(objects, 'Deployment', `${RELEASE}-tracker`).spec;
    if (layout.topology === 'sidecar')
      found.push({ where: 'kubernetes.two/ tracker pod', container: containerNamed(tracker, 'redis') });
    if (layout.topology === 'separate') {
      const shared = workloadNamed(objects, 'StatefulSet', `${RELEASE}-redis`).spec;
      found.push({ where: `${path.basename(layout.dir)}/ shared Redis`, container: containerNamed(shared, 'redis') });
    }
    const consumers = workloadNamed(objects, 'StatefulSet', `${RELEASE}-consumer-redis`).spec;
    found.push({
      where: `${path.basename(layout.dir)}/ consumers' Redis`,
      container: containerNamed(consumers, 'redis'),
    });
  }
  return found;
}

/** The values after a flag, up to the next flag (redis-server takes several for --bind). */
function flagValues(args: readonly string[], flag: string): string[] {
  const rest = args.slice(args.indexOf(flag) + 1);
  const end = rest.findIndex((a) => a.startsWith('--'));
  return end === -1 ? rest : rest.slice(0, end);
}

async function redisCli(socket: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-s', socket, '--raw', ...args]);
  return stdout.trim();
}

describe('the commands in the manifests', () => {
  for (const { where, container } of redisContainers()) {
    it(`${where}: the redis-server command line gives an AOF, noeviction buffer`, async (t) => {
      const binary = requireCommand('redis-server');
      assert.deepEqual(container.command, ['redis-server']);
      const dir = scratchDir(t, 'pushtech-redis-args-');
      // Only the data folder and the listener change: TCP off, a private unix socket instead.
      const socket = path.join(dir, 'redis.sock');
      const args = [
        ...withArg(withArg(container.args ?? [], '--dir', dir), '--port', '0'),
        '--unixsocket',
        socket,
        '--unixsocketperm',
        '700',
      ];
      const server = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      server.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
      t.after(async () => {
        if (server.exitCode === null) server.kill('SIGKILL');
        await exited;
      });
      await eventually(`redis-server answering on ${socket}`, async () =>
        (await redisCli(socket, 'PING').catch(() => '')) === 'PONG' ? true : undefined,
      );
      const config = async (name: string): Promise<string> =>
        (await redisCli(socket, 'CONFIG', 'GET', name)).split('\n')[1] ?? '';
      assert.equal(await config('appendonly'), 'yes');
      assert.equal(await config('appendfsync'), 'always');
      assert.equal(await config('maxmemory-policy'), 'noeviction');
      assert.equal(await config('save'), '');
      const maxmemory = container.args?.[container.args.indexOf('--maxmemory') + 1] ?? '';
      const megabytes = Number(/^(\d+)(mb|gb)$/.exec(maxmemory)?.[1]) * (maxmemory.endsWith('gb') ? 1024 : 1);
      assert.equal(Number(await config('maxmemory')), megabytes * 1024 * 1024, `--maxmemory ${maxmemory}`);
      assert.equal(await config('bind'), flagValues(container.args ?? [], '--bind').join(' '));
      // A write reaches the AOF in the data folder, which is the volume in the pod.
      assert.equal(await redisCli(socket, 'LPUSH', 'pushtech:hits', 'a-raw-hit'), '1');
      await redisCli(socket, 'SHUTDOWN');
      assert.equal(await exited, 0, stderr);
      assert.ok(existsSync(path.join(dir, 'appendonlydir')), 'appendonlydir in the data folder');
      assert.ok(readdirSync(path.join(dir, 'appendonlydir')).some((f) => f.endsWith('.aof')));
    });
  }

  it("the topic Job's script creates both topics on a real broker, idempotently", async (t) => {
    const [container, ...others] = layouts.map((layout) => {
      const job = readLayoutObjects(layout.dir).find((o) => o.kind === 'Job') as V1Job | undefined;
      const found = job?.spec?.template.spec?.containers[0];
      assert.ok(found, `${path.basename(layout.dir)}/: a topic Job`);
      return found;
    });
    assert.ok(container?.command && container.args?.[0]);
    assert.deepEqual(container.command, ['sh', '-c']);
    for (const other of others) assert.deepEqual(other.args, container.args, 'the same script in both layouts');

    // The image's /opt/kafka/bin/kafka-topics.sh, played by the same Kafka release's jars.
    const jars = await ensureKafkaJars({ cacheRoot: cacheDir(process.env) });
    const kafkaHome = scratchDir(t, 'pushtech-kafka-home-');
    mkdirSync(path.join(kafkaHome, 'bin'));
    const topicsScript = path.join(kafkaHome, 'bin', 'kafka-topics.sh');
    writeFileSync(
      topicsScript,
      `#!/bin/sh\nexec java -Xmx256m -cp '${jars.libsDir}/*' org.apache.kafka.tools.TopicCommand "$@"\n`,
    );
    chmodSync(topicsScript, 0o755);

    const { kafkaBrokers } = await testInfra();
    const events = uniqueName('events');
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
    for (const variable of container.env ?? []) if (variable.value !== undefined) env[variable.name] = variable.value;
    Object.assign(env, {
      KAFKA_HOME: kafkaHome,
      BOOTSTRAP_SERVERS: kafkaBrokers,
      EVENTS_TOPIC: events,
      DLQ_TOPIC: `${events}.dlq`,
    });
    const admin = createAdmin({ brokers: [kafkaBrokers], clientId: uniqueName('deploy-test') }, silentLogger());
    await admin.connect();
    t.after(async () => {
      await admin.deleteTopics([events, `${events}.dlq`]).catch(() => undefined);
      await admin.disconnect();
    });

    // The pod's /tmp (its client.properties, a keystore) is a scratch folder here, not the host's /tmp.
    const script = container.args[0].replaceAll('/tmp/', `${scratchDir(t, 'pushtech-topic-job-tmp-')}/`);
    const first = await run('sh', ['-c', script], { env, timeout: 120_000 });
    assert.match(first.stdout, new RegExp(`Created topic ${events}\\.`));
    assert.match(first.stdout, /min\.insync\.replicas=1/);
    const partitions = Number(envValue(container, 'EVENTS_PARTITIONS'));
    assert.equal((await admin.topicOffsets(events)).length, partitions);
    assert.equal((await admin.topicOffsets(`${events}.dlq`)).length, Number(envValue(container, 'DLQ_PARTITIONS')));

    // A second run (re-applied manifests, a helm upgrade) leaves the topics as they are.
    const second = await run('sh', ['-c', script], { env, timeout: 120_000 });
    assert.doesNotMatch(second.stdout, /Created topic/);
    assert.match(second.stdout, new RegExp(`PartitionCount: ${partitions}`));
  });
});
