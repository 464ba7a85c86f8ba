/**
 * The parts of Prometheus's HTTP API (/api/v1) the monitoring checks read. Every answer is
 * checked for `status: "success"`; an error carries Prometheus's own message (a parse error
 * names the position in the expression).
 */

export interface Sample {
  readonly metric: Readonly<Record<string, string>>;
}

export interface RangeSeries extends Sample {
  readonly values: readonly (readonly [number, string])[];
}

export interface Target {
  readonly labels: Readonly<Record<string, string>>;
  readonly scrapeUrl: string;
  readonly health: 'up' | 'down' | 'unknown';
  readonly lastError: string;
}

export interface Alert {
  readonly labels: Readonly<Record<string, string>>;
  readonly state: 'pending' | 'firing' | 'inactive';
  readonly activeAt?: string;
  readonly value?: string;
}

export interface LoadedRule {
  readonly name: string;
  readonly query: string;
  readonly type: 'alerting' | 'recording';
  readonly health: string;
  readonly lastError?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export class PrometheusApiError extends Error {
  constructor(
    readonly path: string,
    readonly errorType: string,
    message: string,
  ) {
    super(`${path}: ${errorType}: ${message}`);
    this.name = 'PrometheusApiError';
  }
}

interface Answer<T> {
  readonly status: 'success' | 'error';
  readonly data?: T;
  readonly errorType?: string;
  readonly error?: string;
}

export class PrometheusApi {
  constructor(readonly url: string) {}

  private async get<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const query = new URLSearchParams(params).toString();
    const response = await fetch(`${this.url}/api/v1/${path}${query ? `?${query}` : ''}`, {
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await response.json()) as Answer<T>;
    if (body.status !== 'success' || body.data === undefined) {
      throw new PrometheusApiError(path, body.errorType ?? `HTTP ${response.status}`, body.error ?? 'no data');
    }
    return body.data;
  }

  /** A range query as a graph panel runs it; throws PrometheusApiError on an invalid expression. */
  async queryRange(expr: string, range: { start: number; end: number; stepSeconds: number }): Promise<RangeSeries[]> {
    const data = await this.get<{ resultType: string; result: RangeSeries[] }>('query_range', {
      query: expr,
      start: String(range.start / 1000),
      end: String(range.end / 1000),
      step: `${range.stepSeconds}s`,
    });
    return data.result;
  }

  /** How many series of a metric name Prometheus holds. */
  async seriesCount(metric: string): Promise<number> {
    return (await this.get<unknown[]>('series', { 'match[]': metric })).length;
  }

  /** Metric names the scraped targets declared (HELP/TYPE), also those without a series yet. */
  async metadataNames(): Promise<Set<string>> {
    return new Set(Object.keys(await this.get<Record<string, unknown>>('metadata')));
  }

  async targets(): Promise<Target[]> {
    return (await this.get<{ activeTargets: Target[] }>('targets', { state: 'active' })).activeTargets;
  }

  async alerts(): Promise<Alert[]> {
    return (await this.get<{ alerts: Alert[] }>('alerts')).alerts;
  }

  /** Every rule Prometheus loaded, with its group's file. */
  async rules(): Promise<(LoadedRule & { file: string; group: string })[]> {
    const data = await this.get<{ groups: { name: string; file: string; rules: LoadedRule[] }[] }>('rules');
    return data.groups.flatMap((g) => g.rules.map((r) => ({ ...r, file: g.file, group: g.name })));
  }
}
