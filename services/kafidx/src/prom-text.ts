/**
 * A strict parser for the Prometheus text exposition format (0.0.4), the format every service's
 * /metrics answers in (prom-client). kafidx's health strip reads a few metrics from it; anything
 * that is not well-formed is an error naming the line, never a silently wrong number.
 */

export interface Sample {
  /** The sample's own name (`x_bucket`, `x_sum`, `x_count` for a histogram named `x`). */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** A float; NaN, +Inf and -Inf as the format spells them. */
  readonly value: number;
}

export interface Exposition {
  /** Every sample, in the order given. */
  readonly samples: readonly Sample[];
  /** The declared type of each metric family (`# TYPE`). */
  readonly types: ReadonlyMap<string, string>;
}

export class ExpositionError extends Error {
  constructor(
    readonly line: number,
    detail: string,
  ) {
    super(`line ${line}: ${detail}`);
    this.name = 'ExpositionError';
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Parses a whole exposition; throws ExpositionError at the first malformed line. */
export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const seen = new Set<string>();
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const n = index + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const comment = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
      if (!comment) return; // any other comment
      const [, keyword, name = '', rest = ''] = comment;
      if (!METRIC_NAME.test(name) || METRIC_NAME.exec(name)?.[0] !== name) {
        throw new ExpositionError(n, `# ${keyword} names no valid metric: ${JSON.stringify(name)}`);
      }
      if (keyword === 'TYPE') {
        const type = rest.trim();
        if (!TYPES.has(type)) throw new ExpositionError(n, `unknown metric type ${JSON.stringify(type)}`);
        if (types.has(name)) throw new ExpositionError(n, `a second # TYPE for ${name}`);
        types.set(name, type);
      }
      return;
    }
    const sample = parseSample(line, n);
    const key = `${sample.name}{${Object.entries(sample.labels)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
    if (seen.has(key)) throw new ExpositionError(n, `the series ${key} appears twice`);
    seen.add(key);
    samples.push(sample);
  });
  return { samples, types };
}

function parseSample(line: string, n: number): Sample {
  const name = METRIC_NAME.exec(line)?.[0];
  if (name === undefined)
    throw new ExpositionError(n, `expected a metric name, got ${JSON.stringify(line.slice(0, 40))}`);
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i += 1;
    for (;;) {
      i = skipBlanks(line, i);
      if (line[i] === '}') {
        i += 1;
        break;
      }
      const labelName = LABEL_NAME.exec(line.slice(i))?.[0];
      if (labelName === undefined) throw new ExpositionError(n, `expected a label name in ${name}`);
      i = skipBlanks(line, i + labelName.length);
      if (line[i] !== '=') throw new ExpositionError(n, `expected = after the label ${labelName} of ${name}`);
      i = skipBlanks(line, i + 1);
      if (line[i] !== '"')
        throw new ExpositionError(n, `expected a quoted value for the label ${labelName} of ${name}`);
      const [value, end] = labelValue(line, i + 1, n);
      if (Object.hasOwn(labels, labelName))
        throw new ExpositionError(n, `the label ${labelName} appears twice in ${name}`);
      labels[labelName] = value;
      i = skipBlanks(line, end);
      if (line[i] === ',') i += 1;
      else if (line[i] !== '}') throw new ExpositionError(n, `expected , or } after the label ${labelName} of ${name}`);
    }
  }
  if (line[i] !== ' ' && line[i] !== '\t') throw new ExpositionError(n, `expected a blank and a value after ${name}`);
  const fields = line
    .slice(i)
    .trim()
    .split(/[ \t]+/);
  if (fields.length > 2) throw new ExpositionError(n, `unexpected text after the value of ${name}`);
  const [valueText = '', timestamp] = fields;
  const value = parseNumber(valueText);
  if (value === undefined)
    throw new ExpositionError(n, `the value of ${name} is not a number: ${JSON.stringify(valueText)}`);
  if (timestamp !== undefined && !/^-?\d+$/.test(timestamp)) {
    throw new ExpositionError(n, `the timestamp of ${name} is not an integer: ${JSON.stringify(timestamp)}`);
  }
  return { name, labels, value };
}

function skipBlanks(line: string, i: number): number {
  while (line[i] === ' ' || line[i] === '\t') i += 1;
  return i;
}

/** A label value from just after its opening quote: the value and the index after its closing quote. */
function labelValue(line: string, start: number, n: number): [string, number] {
  let value = '';
  for (let i = start; i < line.length; i += 1) {
    const c = line[i];
    if (c === '"') return [value, i + 1];
    if (c !== '\\') {
      value += c;
      continue;
    }
    const next = line[i + 1];
    if (next === '\\') value += '\\';
    else if (next === '"') value += '"';
    else if (next === 'n') value += '\n';
    else throw new ExpositionError(n, `unknown escape \\${next ?? ''} in a label value`);
    i += 1;
  }
  throw new ExpositionError(n, 'a label value is not closed by "');
}

/**
 * A float as the format spells it; undefined when it is none. NaN and the infinities are read
 * case-insensitively, as Prometheus does (Go's ParseFloat): prom-client writes NaN as "Nan".
 */
export function parseNumber(text: string): number | undefined {
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text);
  if (special) {
    if (special[2]?.toLowerCase() === 'nan') return special[1] === '' ? Number.NaN : undefined;
    return special[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  return NUMBER.test(text) ? Number(text) : undefined;
}
