import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** The absolute path of an executable on PATH, or undefined. */
export function which(command: string, pathVar = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of pathVar.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export class MissingPrerequisiteError extends Error {
  constructor(
    readonly command: string,
    readonly hint: string,
  ) {
    super(`${command} is not installed (not found on PATH). ${hint}`);
    this.name = 'MissingPrerequisiteError';
  }
}

export const installHints = {
  java: 'The local Kafka broker needs Java 17 or newer: on Debian/Ubuntu run `apt-get install openjdk-17-jre-headless`.',
  mvn: 'Maven fetches the pinned Kafka jars from Maven Central: on Debian/Ubuntu run `apt-get install maven`.',
  'redis-server':
    'The local buffer needs Redis 7: on Debian/Ubuntu run `apt-get install redis-server` (npm start does it when run as root).',
  prometheus:
    "The local Prometheus (DEVSTACK_PROMETHEUS) comes from Debian's package: run `apt-get install prometheus`, or set DEVSTACK_PROMETHEUS=false.",
  postgresql:
    "The PostgreSQL sink's local database comes from Debian's package: run `apt-get install postgresql` (npm start does it when run as root).",
} as const;

export function requireCommand(command: keyof typeof installHints, pathVar?: string): string {
  const found = which(command, pathVar);
  if (!found) throw new MissingPrerequisiteError(command, installHints[command]);
  return found;
}
