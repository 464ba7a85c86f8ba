import type { ParamList } from '@pushtech/event';
import { eventNameProblem } from './event-name.js';
import { HttpError } from './http-error.js';
import { objectParams, parseJson } from './request-params.js';

export const MAX_BATCH_EVENTS = 1000;

export interface BatchItem {
  readonly type: string;
  readonly params: ParamList;
}

/**
 * A batch body: a JSON array, or NDJSON (one object per line), of `{"event": "...", "params":
 * {...}}`. Validated as a whole: the first bad item is named by its index and nothing is stored.
 */
export function parseBatch(body: string): BatchItem[] {
  const trimmed = body.trim();
  if (trimmed === '')
    throw new HttpError(400, 'invalid batch', 'the body is empty; send a JSON array or NDJSON of {"event", "params"}');
  let items: unknown[];
  if (trimmed.startsWith('[')) {
    const parsed = parseJson(trimmed, 'batch');
    if (!Array.isArray(parsed)) throw new HttpError(400, 'invalid batch', 'expected a JSON array');
    items = parsed;
  } else {
    items = trimmed
      .split('\n')
      .map((line, i) => ({ line: line.trim(), i }))
      .filter(({ line }) => line !== '')
      .map(({ line, i }) => parseJson(line, `NDJSON line ${i + 1}`));
  }
  if (items.length === 0) throw new HttpError(400, 'invalid batch', 'the batch holds no events');
  if (items.length > MAX_BATCH_EVENTS) {
    throw new HttpError(413, 'batch too large', `${items.length} events; at most ${MAX_BATCH_EVENTS} per batch`);
  }
  return items.map((item, index) => parseItem(item, index));
}

function parseItem(item: unknown, index: number): BatchItem {
  const where = `item ${index}`;
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    throw new HttpError(400, 'invalid batch', `${where}: expected an object {"event": "...", "params": {...}}`);
  }
  const { event, params } = item as { event?: unknown; params?: unknown };
  if (typeof event !== 'string') throw new HttpError(400, 'invalid batch', `${where}: "event" must be a string`);
  const problem = eventNameProblem(event);
  if (problem) throw new HttpError(400, 'invalid batch', `${where}: ${problem}`);
  try {
    return { type: event, params: params === undefined ? [] : objectParams(params, 'params') };
  } catch (error: unknown) {
    if (error instanceof HttpError) throw new HttpError(400, 'invalid batch', `${where}: ${error.detail}`);
    throw error;
  }
}
