import { ConfigError } from '@pushtech/runtime';

/** One service's /metrics endpoint the health strip reads, under the name the page shows. */
export interface HealthTarget {
  readonly name: string;
  readonly url: string;
}

/** What one KAFIDX_HEALTH_TARGETS entry looks like: `name=http(s)://host:port/path`, no credentials. */
export const healthTargetPattern = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}=https?:\/\/[^\s,@]+$/;

/**
 * The targets of KAFIDX_HEALTH_TARGETS (each entry already matched healthTargetPattern). A URL
 * that does not parse or a name given twice stops kafidx with a message naming the variable.
 */
export function healthTargets(entries: readonly string[]): HealthTarget[] {
  const problems: string[] = [];
  const targets: HealthTarget[] = [];
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const name = entry.slice(0, eq);
    const url = entry.slice(eq + 1);
    if (eq <= 0 || !URL.canParse(url)) {
      problems.push(
        `KAFIDX_HEALTH_TARGETS: ${JSON.stringify(entry)} is not name=URL (tracker=http://127.0.0.1:8380/metrics)`,
      );
    } else if (targets.some((t) => t.name === name)) {
      problems.push(`KAFIDX_HEALTH_TARGETS: the name ${JSON.stringify(name)} is given twice; give each target its own`);
    } else {
      targets.push({ name, url });
    }
  }
  if (problems.length > 0) throw new ConfigError('kafidx', problems);
  return targets;
}
