/**
 * A three-node Kafka cluster for the tests that need one (leader failover); every other test
 * shares the single broker of `testInfra()`. Each call starts a cluster of its own, removed when
 * the test ends, and killed outright if the test process ends first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startKafkaCluster, type KafkaCluster } from './kafka-cluster.js';
import { ensureKafkaJars } from './kafka-jars.js';
import { recordProcesses } from './leftovers.js';
import { cacheDir } from './paths.js';
import { freePort } from './ports.js';

/** The part of node:test's TestContext the helper needs. */
interface Cleanup {
  after(fn: () => Promise<void> | void): void;
}

/** Heap of each node: three JVMs beside the shared broker and the tests on two cores. */
export const TEST_CLUSTER_HEAP_MB = 384;

export async function startTestCluster(t: Cleanup, options: { nodes?: number } = {}): Promise<KafkaCluster> {
  const { libsDir } = await ensureKafkaJars({ cacheRoot: cacheDir(process.env) });
  // The prefix is one sweepStaleStacks removes when a killed run left it behind.
  const dir = mkdtempSync(path.join(tmpdir(), 'pushtech-test-'));
  let cluster: KafkaCluster | undefined;
  // A port is free when it is picked and bound by a JVM seconds later; in between another test
  // (or an outgoing connection's ephemeral port) can take it, as one CI run saw. A start that
  // failed on a taken port is tried again on fresh ports and a fresh folder.
  for (let attempt = 1; cluster === undefined; attempt++) {
    const nodes = [];
    for (let i = 0; i < (options.nodes ?? 3); i++)
      nodes.push({ port: await freePort(), controllerPort: await freePort() });
    const attemptDir = path.join(dir, `attempt-${attempt}`);
    try {
      cluster = await startKafkaCluster({ libsDir, dir: attemptDir, nodes, heapMb: TEST_CLUSTER_HEAP_MB });
    } catch (error: unknown) {
      rmSync(attemptDir, { recursive: true, force: true });
      if (attempt < 3 && /Address already in use/.test(String(error))) continue;
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }
  const started = cluster;
  for (const node of started.running) node.process.unref();
  // A test process killed on a timeout leaves them; the next sweepStaleStacks stops them.
  recordProcesses(
    dir,
    started.running.map((n) => ({ name: n.process.name, pid: n.process.pid })),
  );
  const killAll = (): void => {
    for (const node of started.running) {
      try {
        process.kill(node.process.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killAll);
  t.after(async () => {
    process.removeListener('exit', killAll);
    await started.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return started;
}
