/**
 * The one shape every benchmark adds to its JSON result (as a top-level `summary`), so a single
 * report can show all of them side by side: rows measured in the same run, the in-run baselines
 * marked, the goals of the issue with their verdicts, and optional series (e.g. latency against
 * offered rate) for a line chart.
 */

export interface SummaryRow {
  readonly name: string;
  /** Unit and meaning, e.g. "records/s", "ms p99", "MiB". Rows sharing a metric share a chart. */
  readonly metric: string;
  readonly value: number;
  /** The comparison point measured in the same run (a bare server, Kafka's own producer...). */
  readonly baseline?: boolean;
}

export interface SummaryGoal {
  readonly goal: string;
  /** What was measured, as shown to a reader ("0.42x", "38 ms"). */
  readonly value: string;
  readonly met: boolean;
}

export interface SummarySeries {
  readonly title: string;
  readonly x: string;
  readonly y: string;
  readonly lines: readonly { readonly name: string; readonly points: readonly (readonly [number, number])[] }[];
}

/** A table shown as it is (e.g. per process and per rate), its first row the header. */
export interface SummaryTable {
  readonly title: string;
  readonly rows: readonly (readonly string[])[];
}

export interface BenchSummary {
  readonly bench: string;
  readonly title: string;
  readonly rows: readonly SummaryRow[];
  readonly goals?: readonly SummaryGoal[];
  readonly notes?: readonly string[];
  readonly series?: readonly SummarySeries[];
  readonly tables?: readonly SummaryTable[];
}

export class SummaryError extends Error {
  override readonly name = 'SummaryError';
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function text(where: string, v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '') throw new SummaryError(`${where} must be a non-empty string`);
  return v;
}

function list(where: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new SummaryError(`${where} must be an array`);
  return v;
}

/** Checks a parsed bench result's `summary`; the error names the first wrong field. */
export function parseSummary(source: string, result: unknown): BenchSummary {
  if (!isRecord(result) || !isRecord(result['summary']))
    throw new SummaryError(`${source}: no "summary" object at the top level`);
  const s = result['summary'];
  const at = (field: string): string => `${source}: summary.${field}`;
  const rows = list(at('rows'), s['rows']).map((r, i): SummaryRow => {
    if (!isRecord(r)) throw new SummaryError(`${at(`rows[${i}]`)} must be an object`);
    if (!isFiniteNumber(r['value'])) throw new SummaryError(`${at(`rows[${i}].value`)} must be a finite number`);
    if (r['baseline'] !== undefined && typeof r['baseline'] !== 'boolean')
      throw new SummaryError(`${at(`rows[${i}].baseline`)} must be a boolean`);
    return {
      name: text(at(`rows[${i}].name`), r['name']),
      metric: text(at(`rows[${i}].metric`), r['metric']),
      value: r['value'],
      baseline: r['baseline'] === true,
    };
  });
  if (rows.length === 0) throw new SummaryError(`${at('rows')} is empty`);
  const goals = s['goals'] === undefined ? [] : list(at('goals'), s['goals']);
  const notes = s['notes'] === undefined ? [] : list(at('notes'), s['notes']);
  const series = s['series'] === undefined ? [] : list(at('series'), s['series']);
  const tables = s['tables'] === undefined ? [] : list(at('tables'), s['tables']);
  return {
    bench: text(at('bench'), s['bench']),
    title: text(at('title'), s['title']),
    rows,
    goals: goals.map((g, i): SummaryGoal => {
      if (!isRecord(g) || typeof g['met'] !== 'boolean')
        throw new SummaryError(`${at(`goals[${i}]`)} needs goal, value and a boolean met`);
      return {
        goal: text(at(`goals[${i}].goal`), g['goal']),
        value: text(at(`goals[${i}].value`), g['value']),
        met: g['met'],
      };
    }),
    notes: notes.map((n, i) => text(at(`notes[${i}]`), n)),
    tables: tables.map((x, i): SummaryTable => {
      if (!isRecord(x)) throw new SummaryError(`${at(`tables[${i}]`)} must be an object`);
      const rows = list(at(`tables[${i}].rows`), x['rows']).map((row, j) =>
        list(at(`tables[${i}].rows[${j}]`), row).map((c, k) => {
          if (typeof c !== 'string') throw new SummaryError(`${at(`tables[${i}].rows[${j}][${k}]`)} must be a string`);
          return c;
        }),
      );
      const width = rows[0]?.length ?? 0;
      if (width === 0 || rows.some((row) => row.length !== width))
        throw new SummaryError(`${at(`tables[${i}].rows`)} must be rows of the header's width`);
      return { title: text(at(`tables[${i}].title`), x['title']), rows };
    }),
    series: series.map((x, i): SummarySeries => {
      if (!isRecord(x)) throw new SummaryError(`${at(`series[${i}]`)} must be an object`);
      return {
        title: text(at(`series[${i}].title`), x['title']),
        x: text(at(`series[${i}].x`), x['x']),
        y: text(at(`series[${i}].y`), x['y']),
        lines: list(at(`series[${i}].lines`), x['lines']).map((l, j) => {
          const where = at(`series[${i}].lines[${j}]`);
          if (!isRecord(l)) throw new SummaryError(`${where} must be an object`);
          return {
            name: text(`${where}.name`, l['name']),
            points: list(`${where}.points`, l['points']).map((p, k) => {
              if (!Array.isArray(p) || p.length !== 2 || !isFiniteNumber(p[0]) || !isFiniteNumber(p[1]))
                throw new SummaryError(`${where}.points[${k}] must be [x, y] numbers`);
              return [p[0], p[1]] as const;
            }),
          };
        }),
      };
    }),
  };
}
