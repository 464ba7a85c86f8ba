import type { InsightsData } from './insights.js';

/**
 * The Insights page, rendered on the server as HTML with inline SVG charts and no script. Every
 * name in it comes from events (types, countries, device types), so every piece of text goes
 * through `escape`: an event called `<script>` is drawn as those characters.
 */
export function escape(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#6b7280'];
const W = 960;
const H = 260;
const PAD = { left: 56, right: 16, top: 16, bottom: 36 };

function hourLabel(ms: number): string {
  return `${new Date(ms).toISOString().slice(5, 13).replace('T', ' ')}h`;
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  return Math.ceil(value / step) * step;
}

function axes(max: number, from: number, hours: number): string {
  const plotH = H - PAD.top - PAD.bottom;
  const x = (i: number): number => PAD.left + ((W - PAD.left - PAD.right) * i) / Math.max(1, hours - 1);
  const parts: string[] = [];
  for (let k = 0; k <= 4; k++) {
    const y = PAD.top + plotH - (plotH * k) / 4;
    parts.push(
      `<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}"/>`,
      `<text class="tick" x="${PAD.left - 6}" y="${y + 4}" text-anchor="end">${escape(String(Math.round((max * k) / 4)))}</text>`,
    );
  }
  for (let i = 0; i < hours; i += 6) {
    parts.push(
      `<text class="tick" x="${x(i)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${escape(hourLabel(from + i * 3_600_000))}</text>`,
    );
  }
  return parts.join('');
}

/** Events per hour by type: one line per type, a legend below. */
export function typesChart(data: InsightsData): string {
  const max = niceMax(Math.max(0, ...data.byType.flatMap((t) => t.counts)));
  const plotH = H - PAD.top - PAD.bottom;
  const x = (i: number): number => PAD.left + ((W - PAD.left - PAD.right) * i) / Math.max(1, data.hours - 1);
  const y = (n: number): number => PAD.top + plotH - (plotH * n) / max;
  const lines = data.byType.map((t, k) => {
    const points = t.counts.map((n, i) => `${x(i).toFixed(1)},${y(n).toFixed(1)}`).join(' ');
    return `<polyline class="series" data-type="${escape(t.type)}" fill="none" stroke="${COLORS[k % COLORS.length]}" stroke-width="2" points="${points}"><title>${escape(t.type)}</title></polyline>`;
  });
  const legend = data.byType
    .map(
      (t, k) =>
        `<li><span class="swatch" data-color="${k % COLORS.length}"></span>${escape(t.type)} <b>${t.counts.reduce((a, b) => a + b, 0)}</b></li>`,
    )
    .join('');
  return `<svg id="chart-types" viewBox="0 0 ${W} ${H}" role="img" aria-label="Events per hour by type, last ${data.hours} hours">${axes(max, data.from, data.hours)}${lines.join('')}</svg><ul class="legend">${legend}</ul>`;
}

/** Distinct devices per hour, as bars. */
export function devicesChart(data: InsightsData): string {
  const max = niceMax(Math.max(0, ...data.devices));
  const plotH = H - PAD.top - PAD.bottom;
  const slot = (W - PAD.left - PAD.right) / data.hours;
  const bars = data.devices.map((n, i) => {
    const h = (plotH * n) / max;
    return `<rect class="bar" x="${(PAD.left + i * slot + 1).toFixed(1)}" y="${(PAD.top + plotH - h).toFixed(1)}" width="${Math.max(1, slot - 2).toFixed(1)}" height="${h.toFixed(1)}"><title>${escape(`${hourLabel(data.from + i * 3_600_000)}: ${n} devices`)}</title></rect>`;
  });
  return `<svg id="chart-devices" viewBox="0 0 ${W} ${H}" role="img" aria-label="Distinct devices per hour">${axes(max, data.from, data.hours)}${bars.join('')}</svg>`;
}

/** A ranked list as horizontal bars: top countries, top device types. */
export function rankingChart(id: string, title: string, rows: readonly { name: string; events: number }[]): string {
  const width = 460;
  const rowH = 24;
  const labelW = 140;
  const max = Math.max(1, ...rows.map((r) => r.events));
  const bars = rows.map((r, i) => {
    const w = ((width - labelW - 70) * r.events) / max;
    const y = i * rowH;
    const name = r.name === '' ? '(unknown)' : r.name;
    return `<g class="rank"><text class="label" x="${labelW - 6}" y="${y + 16}" text-anchor="end">${escape(name)}</text><rect class="bar" x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}"/><text class="value" x="${(labelW + w + 6).toFixed(1)}" y="${y + 16}">${r.events}</text></g>`;
  });
  const height = Math.max(rowH, rows.length * rowH);
  return `<svg id="${id}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(title)}">${bars.join('')}</svg>`;
}

export function insightsPage(data: InsightsData): string {
  const to = data.from + data.hours * 3_600_000;
  const empty = data.byType.length === 0;
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>kafidx: insights</title>
    <link rel="stylesheet" href="/style.css" />
  </head>
  <body class="insights">
    <header>
      <h1>kafidx</h1>
      <nav><a href="/">Live events</a> · <b>Insights</b></nav>
      <form id="logout" method="post" action="/logout"><button type="submit">Log out</button></form>
    </header>
    <main>
      <p class="range">From the PostgreSQL sink's hourly rollups, ${escape(hourLabel(data.from))} to ${escape(hourLabel(to))} (UTC), refreshed on every load.${empty ? ' <b id="insights-empty">No events in these 48 hours yet.</b>' : ''}</p>
      <section><h2>Events per hour by type</h2>${typesChart(data)}</section>
      <div class="rankings">
        <section><h2>Top countries</h2>${rankingChart('chart-countries', 'Top countries', data.topCountries)}</section>
        <section><h2>Top device types</h2>${rankingChart('chart-device-types', 'Top device types', data.topDeviceTypes)}</section>
      </div>
      <section><h2>Distinct devices per hour</h2>${devicesChart(data)}</section>
    </main>
  </body>
</html>
`;
}

/** The page when kafidx has no POSTGRES_URL: what to set. */
export function insightsUnconfiguredPage(): string {
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><title>kafidx: insights</title><link rel="stylesheet" href="/style.css" /></head>
  <body class="insights">
    <header><h1>kafidx</h1><nav><a href="/">Live events</a> · <b>Insights</b></nav></header>
    <main><p id="insights-off">Insights read the PostgreSQL sink's rollups: run the consumer <code>postgres_sink</code> and give kafidx the same <code>POSTGRES_URL</code>.</p></main>
  </body>
</html>
`;
}
