/**
 * Reads one metric from Prometheus text exposition (format 0.0.4). Samples of the same name with
 * different labels are added up, so a labelled gauge reads as its total. Undefined when the
 * metric is absent, so "not exported" is not confused with zero.
 */
export function readMetric(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || !line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    let valuePart: string;
    if (rest.startsWith('{')) {
      const close = closingBrace(rest);
      if (close < 0) continue;
      valuePart = rest.slice(close + 1);
    } else if (rest.startsWith(' ') || rest.startsWith('\t')) {
      valuePart = rest;
    } else {
      // a longer metric name sharing the prefix (name_total, name_bucket, ...)
      continue;
    }
    const value = parseValue(valuePart.trim().split(/\s+/)[0] ?? '');
    if (value === undefined) continue;
    total = (total ?? 0) + value;
  }
  return total;
}

/** Label values may contain `}` inside quotes; find the brace that really closes the label set. */
function closingBrace(text: string): number {
  let quoted = false;
  for (let i = 1; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i += 1;
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === '}') {
      return i;
    }
  }
  return -1;
}

function parseValue(token: string): number | undefined {
  if (token === '+Inf') return Number.POSITIVE_INFINITY;
  if (token === '-Inf') return Number.NEGATIVE_INFINITY;
  if (token === 'NaN' || token === '') return undefined;
  const value = Number(token);
  return Number.isNaN(value) ? undefined : value;
}

/** The metrics the CLI reads; names as registered in services/tracker and services/kafkastore. */
export const metricNames = {
  trackerQueue: 'pushtech_tracker_queue_length',
  kafkastoreQueue: 'pushtech_kafkastore_queue_depth',
  kafkastoreProcessing: 'pushtech_kafkastore_processing_depth',
} as const;
