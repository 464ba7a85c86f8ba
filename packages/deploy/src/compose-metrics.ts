import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { runtimeOf } from './compose-checks.js';
import { asList, isMap, type ComposeProject, type ComposeService, type YamlMap } from './compose-files.js';

/**
 * docker-compose/metrics.yml: Prometheus and Grafana beside the pipeline. Checked by reading the
 * files: every bind mount exists on the host, Prometheus's rule and config files are mounted
 * where its config names them, its scrape jobs reach real services on the ports they listen on
 * under the job names of monitoring/alerts.yml, and Grafana's provisioning points at the
 * Prometheus service and the mounted dashboards.
 */

/** The job each pipeline service is scraped under, and the setting naming its metrics port. */
export const SCRAPE_JOBS: Readonly<Record<string, { readonly service: string; readonly portSetting: string }>> = {
  'pushtech-tracker': { service: 'tracker', portSetting: 'TRACKER_PORT' },
  'pushtech-kafkastore': { service: 'kafkastore', portSetting: 'KAFKASTORE_PORT' },
  'pushtech-consumers': { service: 'consumers', portSetting: 'CONSUMERS_PORT' },
  // kafidx serves /metrics on its ops listener only.
  'pushtech-kafidx': { service: 'kafidx', portSetting: 'KAFIDX_OPS_PORT' },
};

export interface BindMount {
  /** Absolute path on the host. */
  readonly source: string;
  readonly target: string;
}

/** The bind mounts of a service (short syntax `./a:/b[:ro]` or long syntax type: bind). */
export function bindMounts(service: ComposeService): BindMount[] {
  const mounts: BindMount[] = [];
  for (const entry of asList(service.definition['volumes'], `service ${service.name}: volumes`)) {
    let source: string | undefined;
    let target: string | undefined;
    if (isMap(entry)) {
      if (entry['type'] !== 'bind') continue;
      source = String(entry['source']);
      target = String(entry['target']);
    } else {
      [source, target] = String(entry).split(':');
    }
    if (source === undefined || target === undefined || !/^[./~]/.test(source)) continue;
    mounts.push({ source: path.resolve(path.dirname(service.file), source), target });
  }
  return mounts;
}

/** The host file or folder mounted at `target` (or at a folder above it). */
export function hostPathOf(service: ComposeService, target: string): string | undefined {
  for (const mount of bindMounts(service)) {
    if (target === mount.target) return mount.source;
    if (target.startsWith(`${mount.target}/`)) return path.join(mount.source, target.slice(mount.target.length + 1));
  }
  return undefined;
}

function readYamlMap(file: string): YamlMap {
  const doc: unknown = parseYaml(readFileSync(file, 'utf8'));
  if (!isMap(doc)) throw new Error(`${file}: expected a map`);
  return doc;
}

/** Prometheus's config file inside its container, from `--config.file`. */
export function prometheusConfigTarget(prometheus: ComposeService): string {
  const flag = asList(prometheus.definition['command'], 'prometheus: command')
    .map(String)
    .find((a) => a.startsWith('--config.file='));
  return flag?.slice('--config.file='.length) ?? '/etc/prometheus/prometheus.yml';
}

export interface ScrapeTarget {
  readonly job: string;
  readonly host: string;
  readonly port: number;
}

/** The scrape targets of a Prometheus config: static targets and DNS names with their port. */
export function scrapeTargets(config: YamlMap): ScrapeTarget[] {
  const targets: ScrapeTarget[] = [];
  for (const job of asList(config['scrape_configs'], 'scrape_configs')) {
    if (!isMap(job)) continue;
    const name = String(job['job_name']);
    for (const sd of asList(job['dns_sd_configs'], `${name}: dns_sd_configs`)) {
      if (!isMap(sd)) continue;
      for (const host of asList(sd['names'], `${name}: names`))
        targets.push({ job: name, host: String(host), port: Number(sd['port']) });
    }
    for (const sc of asList(job['static_configs'], `${name}: static_configs`)) {
      if (!isMap(sc)) continue;
      for (const t of asList(sc['targets'], `${name}: targets`)) {
        const [host = '', port = ''] = String(t).split(':');
        targets.push({ job: name, host, port: Number(port) });
      }
    }
  }
  return targets;
}

/** Every problem of the metrics stack within a project that also runs the pipeline. */
export function checkMetricsStack(project: ComposeProject): string[] {
  const problems: string[] = [];
  const prometheus = project.services.get('prometheus');
  const grafana = project.services.get('grafana');
  if (!prometheus || !grafana) return ['the project has no prometheus or no grafana service'];

  for (const service of [prometheus, grafana]) {
    for (const mount of bindMounts(service)) {
      if (!existsSync(mount.source)) problems.push(`${service.name}: mounts ${mount.source}, which does not exist`);
    }
  }

  const configTarget = prometheusConfigTarget(prometheus);
  const configFile = hostPathOf(prometheus, configTarget);
  if (!configFile || !existsSync(configFile)) return [...problems, `prometheus: nothing mounted at ${configTarget}`];
  const config = readYamlMap(configFile);
  const rules = asList(config['rule_files'], 'rule_files').map(String);
  if (rules.length === 0) problems.push('prometheus: no rule_files');
  for (const rule of rules) {
    const target = path.posix.resolve(path.posix.dirname(configTarget), rule);
    const host = hostPathOf(prometheus, target);
    if (!host || !existsSync(host)) problems.push(`prometheus: rule file ${target} is not mounted`);
    else if (path.basename(path.dirname(host)) !== 'monitoring' || path.basename(host) !== 'alerts.yml') {
      problems.push(`prometheus: rule file ${target} is ${host}, not monitoring/alerts.yml`);
    }
  }

  const targets = scrapeTargets(config);
  for (const [job, { service: name, portSetting }] of Object.entries(SCRAPE_JOBS)) {
    const own = targets.filter((t) => t.job === job);
    if (own.length === 0) problems.push(`prometheus: no scrape job ${job}`);
    const service = project.services.get(name);
    const port = service ? Number(runtimeOf(service).env[portSetting]) : Number.NaN;
    for (const t of own) {
      if (t.host !== name) problems.push(`prometheus: job ${job} scrapes ${t.host}, not the ${name} service`);
      else if (t.port !== port)
        problems.push(
          `prometheus: job ${job} scrapes port ${t.port}; ${name} serves /metrics on ${port} (${portSetting})`,
        );
    }
  }
  for (const t of targets) {
    if (!SCRAPE_JOBS[t.job]) problems.push(`prometheus: job ${t.job} is not one of the rules' jobs`);
    if (!project.services.has(t.host)) problems.push(`prometheus: job ${t.job} scrapes ${t.host}, which is no service`);
  }

  const datasourceDir = hostPathOf(grafana, '/etc/grafana/provisioning/datasources');
  const datasources = datasourceDir ? provisioned(datasourceDir, 'datasources') : [];
  const prometheusSource = datasources.find((d) => d['type'] === 'prometheus');
  if (!prometheusSource) problems.push('grafana: no Prometheus data source provisioned');
  else if (prometheusSource['url'] !== 'http://prometheus:9090') {
    problems.push(
      `grafana: the Prometheus data source points at ${String(prometheusSource['url'])}, not http://prometheus:9090`,
    );
  }
  const providerDir = hostPathOf(grafana, '/etc/grafana/provisioning/dashboards');
  const providers = providerDir ? provisioned(providerDir, 'providers') : [];
  if (providers.length === 0) problems.push('grafana: no dashboard provider provisioned');
  for (const provider of providers) {
    const options = provider['options'];
    const target = isMap(options) ? String(options['path']) : '';
    const host = hostPathOf(grafana, target);
    if (!host || !existsSync(host)) problems.push(`grafana: dashboards path ${target} is not mounted`);
    else if (path.relative(path.resolve(path.dirname(grafana.file), '..', 'monitoring', 'dashboards'), host) !== '') {
      problems.push(`grafana: dashboards path ${target} is ${host}, not monitoring/dashboards`);
    }
  }
  return problems;
}

/** The entries of one key (datasources, providers) across the YAML files of a provisioning folder. */
function provisioned(dir: string, key: string): YamlMap[] {
  if (!existsSync(dir)) return [];
  return readdirYaml(dir).flatMap((file) => asList(readYamlMap(file)[key], `${file}: ${key}`).filter(isMap));
}

function readdirYaml(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}
