/**
 * Dependency-free SVG charts for the benchmark report: horizontal bars (one metric, the in-run
 * baseline in grey, every other bar labelled with its ratio to the baseline) and lines (e.g.
 * latency percentiles against offered rate). Plain SVG renders on GitHub and in any browser.
 */
import type { SummaryRow, SummarySeries } from './summary.js';

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
const PALETTE = ['#1a73e8', '#e8710a', '#188038', '#d93025', '#9334e6', '#12b5cb'];
const BASELINE_COLOUR = '#9aa0a6';

export function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A readable number: 41234 -> "41,234", 0.4321 -> "0.43", 12.345 -> "12.3". */
export function formatNumber(v: number): string {
  const abs = Math.abs(v);
  if (abs >= 1000) return Math.round(v).toLocaleString('en-US');
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** Round axis maximum: the next 1, 2 or 5 times a power of ten at or above v. */
export function niceCeiling(v: number): number {
  if (v <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(v));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= v) return step * power;
  return 10 * power;
}

export function barChart(title: string, metric: string, rows: readonly SummaryRow[]): string {
  const width = 760;
  const labelWidth = 290;
  const barArea = width - labelWidth - 150;
  const rowHeight = 30;
  const top = 44;
  const height = top + rows.length * rowHeight + 16;
  const max = niceCeiling(Math.max(...rows.map((r) => r.value)));
  const baseline = rows.find((r) => r.baseline);
  const parts = rows.map((row, i) => {
    const y = top + i * rowHeight;
    const w = Math.max(1, (row.value / max) * barArea);
    const colour = row.baseline ? BASELINE_COLOUR : PALETTE[0];
    const ratio =
      baseline && !row.baseline && baseline.value > 0 ? ` (${(row.value / baseline.value).toFixed(2)}x)` : '';
    const label = row.baseline ? `${row.name} [baseline]` : row.name;
    return [
      `<text x="${labelWidth - 8}" y="${y + 19}" text-anchor="end" font-size="13" ${FONT}>${escapeXml(label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 5}" width="${w.toFixed(1)}" height="${rowHeight - 10}" rx="2" fill="${colour}"/>`,
      `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 19}" font-size="12" ${FONT}>${escapeXml(formatNumber(row.value) + ratio)}</text>`,
    ].join('');
  });
  return svg(width, height, [
    `<text x="12" y="22" font-size="15" font-weight="600" ${FONT}>${escapeXml(title)}</text>`,
    `<text x="${width - 12}" y="22" text-anchor="end" font-size="12" fill="#5f6368" ${FONT}>${escapeXml(metric)}</text>`,
    ...parts,
  ]);
}

export function lineChart(series: SummarySeries): string {
  const width = 760;
  const height = 380;
  const left = 70;
  const right = 180;
  const top = 40;
  const bottom = 50;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const points = series.lines.flatMap((l) => l.points);
  const xMax = niceCeiling(Math.max(...points.map((p) => p[0])));
  const yMax = niceCeiling(Math.max(...points.map((p) => p[1])));
  const sx = (x: number): number => left + (x / xMax) * plotW;
  const sy = (y: number): number => top + plotH - (y / yMax) * plotH;
  const out: string[] = [
    `<text x="12" y="22" font-size="15" font-weight="600" ${FONT}>${escapeXml(series.title)}</text>`,
    `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#5f6368"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#5f6368"/>`,
  ];
  for (let i = 0; i <= 4; i += 1) {
    const yv = (yMax * i) / 4;
    const xv = (xMax * i) / 4;
    out.push(
      `<line x1="${left}" y1="${sy(yv).toFixed(1)}" x2="${left + plotW}" y2="${sy(yv).toFixed(1)}" stroke="#e8eaed"/>`,
      `<text x="${left - 6}" y="${(sy(yv) + 4).toFixed(1)}" text-anchor="end" font-size="11" ${FONT}>${escapeXml(formatNumber(yv))}</text>`,
      `<text x="${sx(xv).toFixed(1)}" y="${top + plotH + 16}" text-anchor="middle" font-size="11" ${FONT}>${escapeXml(formatNumber(xv))}</text>`,
    );
  }
  out.push(
    `<text x="${left + plotW / 2}" y="${height - 10}" text-anchor="middle" font-size="12" ${FONT}>${escapeXml(series.x)}</text>`,
    `<text x="16" y="${top + plotH / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${top + plotH / 2})" ${FONT}>${escapeXml(series.y)}</text>`,
  );
  series.lines.forEach((line, i) => {
    const colour = PALETTE[i % PALETTE.length] ?? '#000';
    const path = line.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`);
    out.push(`<path d="${path.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const p of line.points)
      out.push(`<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="3" fill="${colour}"/>`);
    const ly = top + 10 + i * 20;
    out.push(
      `<rect x="${width - right + 16}" y="${ly - 9}" width="12" height="12" fill="${colour}"/>`,
      `<text x="${width - right + 34}" y="${ly + 1}" font-size="12" ${FONT}>${escapeXml(line.name)}</text>`,
    );
  });
  return svg(width, height, out);
}

function svg(width: number, height: number, body: readonly string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
