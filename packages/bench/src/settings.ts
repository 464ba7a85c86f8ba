/** What a bench's numeric setting may be. */
export interface NumberRule {
  /** The least value allowed (1 unless given). */
  readonly min?: number;
  /** The greatest value allowed (none unless given). */
  readonly max?: number;
  /** Whole numbers only (true unless given). */
  readonly integer?: boolean;
  /** What the number counts, for the error ("connections"). */
  readonly unit?: string;
  /** The environment to read (process.env unless given; tests pass their own). */
  readonly env?: NodeJS.ProcessEnv;
}

function describeRule(rule: NumberRule): string {
  const min = rule.min ?? 1;
  const kind = rule.integer === false ? 'a number' : 'a whole number';
  const range = rule.max === undefined ? `${min} or more` : `from ${min} to ${rule.max}`;
  return `${kind}${rule.unit === undefined ? '' : ` of ${rule.unit}`}, ${range}`;
}

function parse(raw: string, rule: NumberRule): number | undefined {
  if (raw.trim() === '') return undefined;
  const value = Number(raw);
  const fits =
    Number.isFinite(value) &&
    (rule.integer === false || Number.isInteger(value)) &&
    value >= (rule.min ?? 1) &&
    (rule.max === undefined || value <= rule.max);
  return fits ? value : undefined;
}

/**
 * A bench's numeric setting from the environment (`BENCH_SECONDS=30`), or `fallback` when it is
 * unset. A value that is not a number the bench can use (a typo, an empty value, 0 rounds) is
 * refused with an error naming the setting, what it must be and the value given: read with a
 * bare Number() it became NaN or 0, and the bench ran with it (a NaN rate sends nothing, a NaN
 * duration never ends) and reported nonsense.
 */
export function benchNumber(name: string, fallback: number, rule: NumberRule = {}): number {
  const raw = (rule.env ?? process.env)[name];
  if (raw === undefined) return fallback;
  const value = parse(raw, rule);
  if (value === undefined) throw new Error(`${name} must be ${describeRule(rule)} (got "${raw}")`);
  return value;
}

/** A comma-separated list of such numbers (`BENCH_RATES=1000,3000`), or `fallback` when unset. */
export function benchNumbers(name: string, fallback: readonly number[], rule: NumberRule = {}): number[] {
  const raw = (rule.env ?? process.env)[name];
  if (raw === undefined) return [...fallback];
  const values = raw.split(',').map((part) => parse(part, rule));
  if (values.some((v) => v === undefined)) {
    throw new Error(`${name} must be a comma-separated list, each ${describeRule(rule)} (got "${raw}")`);
  }
  return values as number[];
}
