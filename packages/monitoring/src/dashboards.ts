import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** The parts of a Grafana dashboard (classic JSON model) the checks read. */
export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly { readonly name: string; readonly type: string }[] };
}

export interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly type: string; readonly uid: string };
  readonly fieldConfig?: { readonly defaults?: { readonly unit?: string } };
  readonly targets?: readonly { readonly refId: string; readonly expr: string }[];
  /** A collapsed row keeps its panels inside. */
  readonly panels?: readonly Panel[];
}

export interface PanelQuery {
  /** `<file> / <panel title> / <refId>`, for messages. */
  readonly where: string;
  readonly expr: string;
}

/** Every `*.json` of the folder, parsed, by file name. */
export function loadDashboards(dir: string): Map<string, Dashboard> {
  const dashboards = new Map<string, Dashboard>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    dashboards.set(file, JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Dashboard);
  }
  return dashboards;
}

/** Every panel, rows' nested panels included. */
export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every target expression of every panel. */
export function panelQueries(file: string, dashboard: Dashboard): PanelQuery[] {
  return allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((t) => ({ where: `${file} / ${panel.title} / ${t.refId}`, expr: t.expr })),
  );
}

/**
 * An expression as Grafana sends it: `$__rate_interval`, `$__interval` and the dashboard's
 * variables (`$name`, `${name}`, `${name:regex}`) replaced by the given values. An unknown
 * variable is left as it is, so Prometheus rejects the query and the check says so.
 */
export function substituteVariables(
  expr: string,
  values: { rateInterval: string; interval: string; variables: Readonly<Record<string, string>> },
): string {
  const all: Record<string, string> = {
    __rate_interval: values.rateInterval,
    __interval: values.interval,
    ...values.variables,
  };
  return expr.replace(
    /\$\{(\w+)(?::\w+)?\}|\$(\w+)/g,
    (whole, braced: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare ?? '';
      return all[name] ?? whole;
    },
  );
}
