/**
 * A single-node KRaft broker with the listeners a managed cluster offers: SASL_SSL (PLAIN,
 * SCRAM-SHA-256, SCRAM-SHA-512) and SSL with client certificates required (mTLS), plus a
 * PLAINTEXT listener for the broker's own traffic and the start-up probe. Certificates are made
 * with openssl (certificates.ts); the SCRAM user is created by Kafka's own StorageTool at format
 * time (`--add-scram`), as `kafka-storage format` does. The jars are the project's
 * (ensureKafkaJars); the devstack broker stays untouched.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cacheDir, ensureKafkaJars, freePort, requireCommand, waitUntilAnswering } from '@pushtech/devstack';
import type { Certificates } from './certificates.js';

const START_TIMEOUT_MS = 300_000;

export interface SecuredBroker {
  /** The SASL_SSL listener, `127.0.0.1:<port>`. */
  readonly saslSsl: string;
  /** The SSL listener that requires a client certificate. */
  readonly mtls: string;
  /** The PLAINTEXT listener (the broker's own, and the test's probe). */
  readonly plaintext: string;
  readonly username: string;
  readonly password: string;
  /** The broker's log so far. */
  log(): string;
  stop(): Promise<void>;
}

function javaArgs(libsDir: string, mainClass: string, heapMb: number): string[] {
  return [
    `-Xms${Math.min(128, heapMb)}m`,
    `-Xmx${heapMb}m`,
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    '-cp',
    `${libsDir}/*`,
    mainClass,
  ];
}

export async function startSecuredBroker(dir: string, certs: Certificates): Promise<SecuredBroker> {
  const java = requireCommand('java');
  const { libsDir } = await ensureKafkaJars({ cacheRoot: cacheDir(process.env) });
  const [plain, saslSsl, mtls, controller] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const username = 'pipeline';
  const password = `pw-${randomBytes(9).toString('hex')}`;
  const jaas = (module: string, users = ''): string => `${module} required${users};`;
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${controller}`,
    listeners: `PLAINTEXT://127.0.0.1:${plain},SASL_SSL://127.0.0.1:${saslSsl},SSL://127.0.0.1:${mtls},CONTROLLER://127.0.0.1:${controller}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${plain},SASL_SSL://127.0.0.1:${saslSsl},SSL://127.0.0.1:${mtls}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL,CONTROLLER:PLAINTEXT',
    'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    'listener.name.sasl_ssl.plain.sasl.jaas.config': jaas(
      'org.apache.kafka.common.security.plain.PlainLoginModule',
      ` user_${username}="${password}"`,
    ),
    'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config': jaas(
      'org.apache.kafka.common.security.scram.ScramLoginModule',
    ),
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': jaas(
      'org.apache.kafka.common.security.scram.ScramLoginModule',
    ),
    'listener.name.ssl.ssl.client.auth': 'required',
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': certs.brokerKeystore,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': certs.ca,
    'log.dirs': path.join(dir, 'data'),
    'num.partitions': '1',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '4',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'false',
    'metadata.max.idle.interval.ms': '5000',
  };
  const propsFile = path.join(dir, 'server.properties');
  writeFileSync(
    propsFile,
    Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );
  const scram = (mechanism: string): string[] => [
    '--add-scram',
    `${mechanism}=[name=${username},password=${password}]`,
  ];
  execFileSync(
    java,
    [
      ...javaArgs(libsDir, 'kafka.tools.StorageTool', 256),
      'format',
      `--cluster-id=${randomBytes(16).toString('base64url')}`,
      '-c',
      propsFile,
      ...scram('SCRAM-SHA-256'),
      ...scram('SCRAM-SHA-512'),
    ],
    { stdio: 'pipe' },
  );

  const logFile = path.join(dir, 'kafka.log');
  const out = openSync(logFile, 'a');
  const child = spawn(java, [...javaArgs(libsDir, 'kafka.Kafka', 384), propsFile], { stdio: ['ignore', out, out] });
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const log = (): string => readFileSync(logFile, 'utf8');
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await gone;
    clearTimeout(timer);
  };
  try {
    // Generous: on the shared 2-core machine at a load average of 50 a start took over 120 s.
    await waitUntilAnswering(`127.0.0.1:${plain}`, START_TIMEOUT_MS, () =>
      exited ? `the secured broker exited during start-up:\n${log().slice(-3000)}` : undefined,
    );
  } catch (error: unknown) {
    await stop();
    throw new Error(`${String(error)}; the broker's log ends:\n${log().slice(-3000)}`, { cause: error });
  }
  return {
    saslSsl: `127.0.0.1:${saslSsl}`,
    mtls: `127.0.0.1:${mtls}`,
    plaintext: `127.0.0.1:${plain}`,
    username,
    password,
    log,
    stop,
  };
}
