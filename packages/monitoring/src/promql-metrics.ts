/**
 * The metric names a PromQL expression reads, by a plain tokenizer rather than a parser. It
 * drops string literals, label matchers (`{...}`), durations (`[5m]`), label lists
 * (`by (...)`, `without (...)`, `on (...)`, `ignoring (...)`, `group_left (...)`,
 * `group_right (...)`), numbers, keywords and function names (an identifier before `(`); what
 * is left are metric names.
 *
 * Limits: a metric selected only through `{__name__=~"..."}` is not seen; an identifier a
 * function takes as a label name in a string (label_replace's arguments) is a string and
 * dropped, as it should be; `offset`/`@` modifiers are skipped as keywords with their value.
 */
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'and',
  'or',
  'unless',
  'inf',
  'nan',
  'start',
  'end',
]);

export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/#[^\n]*/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const name = match[0];
    const after = stripped.slice((match.index ?? 0) + name.length);
    if (/^\s*\(/.test(after)) continue; // a function
    if (KEYWORDS.has(name.toLowerCase())) continue;
    const before = stripped.slice(0, match.index ?? 0);
    if (/[0-9.]$/.test(before)) continue; // the exponent or unit of a number (1e3, 5m)
    names.add(name);
  }
  return [...names].sort();
}

/** A histogram's or summary's series name back to the name it was declared with. */
export function declaredName(series: string): string {
  return series.replace(/_(?:bucket|sum|count)$/, '');
}
