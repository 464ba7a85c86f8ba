import { readFileSync } from 'node:fs';
import type { ParamList } from '@pushtech/event';
import { describeError } from '@pushtech/runtime/core';

/**
 * Optional per-event-type rules, from the JSON file named by TRACKER_SCHEMAS:
 *
 *   { "events": { "click": { "required": ["deviceid"], "allowed": { "description": ["CLICK", "VIEW"] } } },
 *     "unknownEvents": "accept" }
 *
 * `unknownEvents: "reject"` refuses event types the file does not list.
 */
export interface EventSchemas {
  /** A reason when the event breaks its schema, otherwise undefined. */
  check(type: string, params: ParamList): string | undefined;
}

export const noSchemas: EventSchemas = { check: () => undefined };

interface Rule {
  required: string[];
  allowed: Record<string, string[]>;
}

export function loadEventSchemas(file: string): EventSchemas {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error: unknown) {
    throw new Error(`cannot read ${file}: ${describeError(error)}`);
  }
  return compileEventSchemas(parsed, file);
}

export function compileEventSchemas(parsed: unknown, source: string): EventSchemas {
  const fail = (why: string): never => {
    throw new Error(`${source}: ${why}`);
  };
  if (!isRecord(parsed) || !isRecord(parsed['events'])) return fail('expected {"events": {"<type>": {...}}}');
  const unknownEvents = parsed['unknownEvents'] ?? 'accept';
  if (unknownEvents !== 'accept' && unknownEvents !== 'reject')
    return fail('"unknownEvents" must be "accept" or "reject"');
  const rules = new Map<string, Rule>();
  for (const [type, raw] of Object.entries(parsed['events'])) {
    if (!isRecord(raw)) return fail(`events.${type} must be an object`);
    const required = raw['required'] ?? [];
    if (!isStringArray(required)) return fail(`events.${type}.required must be an array of strings`);
    const allowed = raw['allowed'] ?? {};
    if (!isRecord(allowed) || !Object.values(allowed).every(isStringArray)) {
      return fail(`events.${type}.allowed must map param names to arrays of strings`);
    }
    rules.set(type, { required, allowed: allowed as Record<string, string[]> });
  }
  return {
    check(type, params) {
      const rule = rules.get(type);
      if (!rule)
        return unknownEvents === 'reject' ? `event type ${JSON.stringify(type)} is not in the schema file` : undefined;
      const values = new Map<string, string[]>();
      for (const [k, v] of params) values.set(k, [...(values.get(k) ?? []), v]);
      for (const name of rule.required) {
        if (!values.has(name)) return `event ${JSON.stringify(type)} requires the param ${JSON.stringify(name)}`;
      }
      for (const [name, options] of Object.entries(rule.allowed)) {
        for (const v of values.get(name) ?? []) {
          if (!options.includes(v)) {
            return `event ${JSON.stringify(type)}: param ${JSON.stringify(name)} must be one of ${options.join(', ')} (got ${JSON.stringify(v.slice(0, 100))})`;
          }
        }
      }
      return undefined;
    },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}
