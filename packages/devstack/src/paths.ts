import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** packages/devstack (works from src/ under tsx and from dist/ once built). */
export const devstackDir = path.resolve(here, '..');
export const repoRoot = path.resolve(devstackDir, '..', '..');
export const kafkaPom = path.join(devstackDir, 'kafka', 'pom.xml');

/** Downloaded jars live outside the git tree and survive fresh clones on the same machine. */
export function cacheDir(env: Readonly<Record<string, string | undefined>>): string {
  const explicit = env['PUSHTECH_CACHE_DIR'];
  if (explicit) return path.resolve(explicit);
  const xdg = env['XDG_CACHE_HOME'];
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(homedir(), '.cache'), 'pushtech');
}

/** Local state of `npm start` (Redis AOF, Kafka logs); ignored by git. */
export function stateDir(env: Readonly<Record<string, string | undefined>>): string {
  return path.resolve(env['PUSHTECH_STATE_DIR'] ?? path.join(repoRoot, '.devstack'));
}

/** The deployables `npm start` runs; overridable so the devstack's own test can use fakes. */
export function servicesDir(env: Readonly<Record<string, string | undefined>>): string {
  return path.resolve(env['PUSHTECH_SERVICES_DIR'] ?? path.join(repoRoot, 'services'));
}

export function isFile(p: string): boolean {
  return existsSync(p);
}
