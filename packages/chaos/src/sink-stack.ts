import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { freePort, postgresBinDir, startPostgresServer, type PostgresServer } from '@pushtech/devstack';
import { GroupAdmin } from './group-admin.js';
import { sampleOps, watchOps, type OpsSample, type StopWatching } from './ops-sampler.js';
import { trackProcess, type Scope } from './scope.js';
import { startService, type ServiceExit, type ServiceProcess } from './service-process.js';
import type { AuditTopics } from './topics.js';

const READY_TIMEOUT_MS = 60_000;
/** A restart after a kill replays the WAL first (crash recovery): give it time on a busy machine. */
const POSTGRES_START_TIMEOUT_MS = 90_000;

export interface SinkStackOptions {
  /** A folder of the scenario's own: PostgreSQL's data and the sink's working folder go below it. */
  readonly dir: string;
  readonly brokers: string;
  readonly topics: AuditTopics;
}

/**
 * The PostgreSQL sink as deployed beside a pod: a PostgreSQL of its own, started the way the
 * devstack starts it (`initdb`, loopback TCP, the `pushtech` role; as root, run as `postgres`),
 * and the consumers service running `postgres_sink` alone (started exactly as in production,
 * with the consumer kit's own retry settings) on the scenario's topic. PostgreSQL can be
 * SIGKILLed and started again on the same folder and port; the sink process is never restarted.
 * PostgreSQL records each commit's time (`track_commit_timestamp`), so the audit can tell when
 * a row was written.
 */
export class SinkStack {
  private stopped = false;

  private constructor(
    private readonly options: SinkStackOptions,
    private readonly postgresDir: string,
    postgres: PostgresServer,
    readonly sink: ServiceProcess,
    private readonly opsPort: number,
    readonly groupId: string,
  ) {
    this.postgres = postgres;
    this.groups = new GroupAdmin(options.brokers, 'chaos-sink-admin');
  }

  private readonly groups: GroupAdmin;

  postgres: PostgresServer;

  /** Started beside the pod; stopped when the scenario's scope closes, also after a failure. */
  static async start(options: SinkStackOptions, scope: Scope): Promise<SinkStack> {
    const postgresDir = path.join(options.dir, 'postgres');
    const cwd = path.join(options.dir, 'run');
    mkdirSync(cwd, { recursive: true });
    const postgres = await startPostgres(postgresDir, await freePort());
    // The server running at the end, which after a kill is not the one started here.
    let current: { postgres: PostgresServer } = { postgres };
    scope.defer('postgres', () => current.postgres.stop());
    const opsPort = await freePort();
    const groupId = `chaos-postgres-sink-${randomBytes(4).toString('hex')}`;
    const sink = startService({
      name: 'consumers',
      opsPort,
      cwd,
      env: {
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        KAFKA_BROKERS: options.brokers,
        KAFKA_TOPIC: options.topics.topic,
        KAFKA_DLQ_TOPIC: options.topics.deadLetterTopic,
        KAFKA_CLIENT_ID: groupId,
        CONSUMER_GROUP_ID: groupId,
        CONSUMER_NAME: 'postgres_sink',
        POSTGRES_URL: postgres.url,
        CONSUMERS_HOST: '127.0.0.1',
        CONSUMERS_PORT: String(opsPort),
      },
    });
    const stack = new SinkStack(options, postgresDir, postgres, sink, opsPort, groupId);
    current = stack;
    // Registered after PostgreSQL's own step, so it runs first: the sink stops before its database.
    scope.defer('postgres sink', () => stack.stop());
    await sink.waitReady(READY_TIMEOUT_MS);
    return stack;
  }

  /**
   * SIGKILL to every process of the server at once (its process group: the postmaster and each
   * backend), as a container runtime's kill or the kernel's OOM killer on the container does:
   * no shutdown checkpoint, transactions cut wherever they were. Resolves with the exit.
   */
  async killPostgres(): Promise<number | string> {
    const pid = this.postgres.process.pid;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    return this.postgres.process.exited;
  }

  /** Starts PostgreSQL again on its folder and port: crash recovery replays the WAL. */
  async restartPostgres(): Promise<PostgresServer> {
    this.postgres = await startPostgres(this.postgresDir, this.postgres.port);
    return this.postgres;
  }

  sampleOps(): Promise<OpsSample> {
    return sampleOps(this.opsPort);
  }

  /** Samples the sink's readiness and outage metric every 100 ms until the returned function is called. */
  watchOps(): StopWatching {
    return watchOps(() => this.sampleOps());
  }

  /** The sink process, if it ended (it must not: an outage pauses it). */
  exitIfAny(): Promise<ServiceExit | undefined> {
    return Promise.race([this.sink.exited, Promise.resolve(undefined)]);
  }

  /** Whether the sink's group has committed up to the topic's end. */
  caughtUp(): Promise<boolean> {
    return this.groups.caughtUp(this.options.topics.topic, [this.groupId]);
  }

  /**
   * Runs a psql script against the sink's database (stdin, so it may carry `copy ... from stdin`
   * data) and returns its unaligned, tab-separated output lines; rejects with psql's message.
   */
  psql(script: string): Promise<string[]> {
    return runPsql(this.postgres.url, script);
  }

  /** Stops the sink (it finishes and commits its batch), deletes its group. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.sink.stop(30_000);
    await this.groups.deleteGroupsAndClose([this.groupId]);
  }
}

async function startPostgres(dir: string, port: number): Promise<PostgresServer> {
  const server = await startPostgresServer({
    port,
    dir,
    startTimeoutMs: POSTGRES_START_TIMEOUT_MS,
    settings: { track_commit_timestamp: 'on' },
  });
  // The whole group: a backend that outlived a killed run must not hold the data folder.
  const untrack = trackProcess(-server.process.pid, 'postgres');
  void server.process.exited.then(untrack);
  return server;
}

function runPsql(url: string, script: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      path.join(postgresBinDir(), 'psql'),
      ['-X', '-q', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', '-'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(out.split('\n').filter((l) => l !== ''));
      else reject(new Error(`psql exited ${code}: ${err.trim().slice(0, 500)}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(script);
  });
}
