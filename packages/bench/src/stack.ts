/**
 * The Redis + Kafka a benchmark runs against: the one `npm run bench` started (devstack run
 * passes it as PUSHTECH_TEST_REDIS_URL / PUSHTECH_TEST_KAFKA_BROKERS), or, for a bench run on its
 * own, a private one on free ports that `stop()` removes again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cacheDir, freePort, killThrowawayStack, startStack } from '@pushtech/devstack';

export interface BenchStack {
  readonly redisUrl: string;
  readonly kafkaBrokers: string;
  /** Whether this bench started the stack itself (and so owns all of the machine's Kafka). */
  readonly private: boolean;
  /** Removes a private stack; nothing to do for the shared one. Idempotent. */
  stop(): Promise<void>;
}

export async function benchStack(
  options: { kafkaHeapMb?: number; log?: (line: string) => void } = {},
): Promise<BenchStack> {
  const redisUrl = process.env['PUSHTECH_TEST_REDIS_URL'];
  const kafkaBrokers = process.env['PUSHTECH_TEST_KAFKA_BROKERS'];
  if (redisUrl && kafkaBrokers) return { redisUrl, kafkaBrokers, private: false, stop: () => Promise.resolve() };

  const log = options.log ?? ((line: string): void => void process.stderr.write(`bench: ${line}\n`));
  // The prefix devstack sweeps: a bench killed outright leaves nothing running for long.
  const dir = mkdtempSync(path.join(tmpdir(), 'pushtech-stack-bench-'));
  log('starting a private Redis + Kafka');
  const stack = await startStack({
    dir,
    cacheRoot: cacheDir(process.env),
    redisPort: await freePort(),
    kafkaPort: await freePort(),
    controllerPort: await freePort(),
    topics: [],
    redisAppendOnly: false,
    kafkaHeapMb: options.kafkaHeapMb ?? 1024,
    log,
  });
  // A bench that throws past its `finally` must still not leave a broker behind.
  const kill = (): void => killThrowawayStack(stack, dir);
  process.once('exit', kill);
  let stopping: Promise<void> | undefined;
  return {
    redisUrl: stack.redisUrl,
    kafkaBrokers: stack.kafkaBrokers,
    private: true,
    stop: () =>
      (stopping ??= (async () => {
        await stack.stop();
        process.removeListener('exit', kill);
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
}
