import type { TrackingEvent } from '@pushtech/event';

/**
 * What one browser wants to see. Empty fields match everything. Matching runs on the server,
 * so a browser interested in one rare event type is not sent the whole stream.
 */
export interface ViewerFilter {
  readonly types: readonly string[];
  /** Case-insensitive substring of any param or meta name or value. */
  readonly text: string;
  readonly country: string;
  /** Device type as in meta.type: Mobile, Tablet, Desktop, Bot, ... */
  readonly device: string;
}

export const matchAll: ViewerFilter = { types: [], text: '', country: '', device: '' };

const MAX_TYPES = 100;
const MAX_TEXT = 200;

/** A filter from a browser's message; anything malformed yields a reason instead. */
export function parseFilter(value: unknown): ViewerFilter | string {
  if (value === null || typeof value !== 'object') return 'filter must be an object';
  const raw = value as Record<string, unknown>;
  const types = raw['types'] ?? [];
  if (!Array.isArray(types) || !types.every((t): t is string => typeof t === 'string') || types.length > MAX_TYPES) {
    return `filter.types must be an array of at most ${MAX_TYPES} strings`;
  }
  const text = raw['text'] ?? '';
  const country = raw['country'] ?? '';
  const device = raw['device'] ?? '';
  for (const [name, v] of [
    ['text', text],
    ['country', country],
    ['device', device],
  ] as const) {
    if (typeof v !== 'string' || v.length > MAX_TEXT)
      return `filter.${name} must be a string of at most ${MAX_TEXT} characters`;
  }
  return {
    types: types.map((t) => t.trim()).filter((t) => t !== ''),
    text: (text as string).trim().toLowerCase(),
    country: (country as string).trim().toUpperCase(),
    device: (device as string).trim().toLowerCase(),
  };
}

export function matches(filter: ViewerFilter, event: TrackingEvent): boolean {
  if (filter.types.length > 0 && !filter.types.includes(event.type)) return false;
  if (filter.country !== '' && event.meta.country.toUpperCase() !== filter.country) return false;
  if (filter.device !== '' && event.meta.type.toLowerCase() !== filter.device) return false;
  if (filter.text !== '') {
    const needle = filter.text;
    const inParams = event.params.some(
      ([k, v]) => k.toLowerCase().includes(needle) || v.toLowerCase().includes(needle),
    );
    if (inParams) return true;
    const meta = event.meta;
    const inMeta = [meta.browser, meta.os, meta.city, meta.country, meta.host, meta.id, meta.type, meta.ip].some((v) =>
      v.toLowerCase().includes(needle),
    );
    if (!inMeta && !event.type.toLowerCase().includes(needle)) return false;
  }
  return true;
}
