import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { runToEnd } from './child-process.js';
import { requireCommand } from './commands.js';
import { KAFKA_VERSION } from './kafka-version.js';
import { kafkaPom } from './paths.js';

export interface KafkaJars {
  readonly version: string;
  readonly libsDir: string;
  /** True when the jars were already cached and Maven was not run. */
  readonly cached: boolean;
}

/**
 * The broker's jars for the pinned version, fetched once through Maven (`dependency:copy-
 * dependencies` over kafka/pom.xml) into `<cacheRoot>/kafka-<version>/libs`. A marker file
 * lists the jars; when it is present and complete, nothing is run and no network is used.
 */
export async function ensureKafkaJars(options: {
  cacheRoot: string;
  version?: string;
  log?: (line: string) => void;
  pathVar?: string;
}): Promise<KafkaJars> {
  const version = options.version ?? KAFKA_VERSION;
  // The pom's hash is part of the folder name: a changed dependency list means a new download.
  const pomHash = createHash('sha256').update(readFileSync(kafkaPom)).digest('hex').slice(0, 10);
  const home = path.join(options.cacheRoot, `kafka-${version}-${pomHash}`);
  const libsDir = path.join(home, 'libs');
  const marker = path.join(home, 'jars.txt');
  if (isComplete(marker, libsDir)) return { version, libsDir, cached: true };

  requireCommand('java', options.pathVar);
  const mvn = requireCommand('mvn', options.pathVar);
  options.log?.(`fetching Apache Kafka ${version} jars through Maven into ${libsDir} (once per machine)`);
  mkdirSync(home, { recursive: true });
  const staging = path.join(home, `libs.partial-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  const args = [
    '-B',
    '-q',
    '-f',
    kafkaPom,
    `-Dkafka.version=${version}`,
    `-Dkafka.libs=${staging}`,
    'dependency:copy-dependencies',
  ];
  const env = options.pathVar === undefined ? process.env : { ...process.env, PATH: options.pathVar };
  const output = await runToEnd(mvn, args, env);
  if (output.code !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`Maven could not fetch the Kafka ${version} jars (${output.ended}):\n${output.text.slice(-3000)}`);
  }
  const jars = readdirSync(staging)
    .filter((f) => f.endsWith('.jar'))
    .sort();
  if (!jars.some((j) => j.startsWith('kafka_2.13-'))) {
    throw new Error(`Maven finished but ${staging} holds no kafka_2.13 jar`);
  }
  rmSync(libsDir, { recursive: true, force: true });
  renameSync(staging, libsDir);
  writeFileSync(marker, `${jars.join('\n')}\n`);
  return { version, libsDir, cached: false };
}

function isComplete(marker: string, libsDir: string): boolean {
  if (!existsSync(marker)) return false;
  const jars = readFileSync(marker, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  return jars.length > 0 && jars.every((jar) => existsSync(path.join(libsDir, jar)));
}
