import { decodeFormComponent, encodeFormComponent } from './form-encoding.js';
import { toWellFormed } from './well-formed.js';

/** Ordered name/value pairs, duplicates allowed, as in a query string. */
export type ParamList = ReadonlyArray<readonly [string, string]>;

const AMPERSAND = '&';

/**
 * application/x-www-form-urlencoded text, space as '+', never a raw space. Lone surrogates
 * become U+FFFD, so decodeParams(encodeParams(list)) equals list for well-formed strings.
 */
export function encodeParams(list: ParamList): string {
  let text = '';
  for (let i = 0; i < list.length; i++) {
    const pair = list[i];
    if (pair === undefined) continue;
    if (i > 0) text += AMPERSAND;
    text += `${encodeFormComponent(pair[0])}=${encodeFormComponent(pair[1])}`;
  }
  return text;
}

/**
 * Parses urlencoded text as URLSearchParams does, without its leading-'?' stripping: empty
 * pairs are skipped, `a` without '=' is ['a', ''], malformed escapes stay literal.
 */
export function decodeParams(text: string): ParamList {
  const input = toWellFormed(text);
  const list: Array<readonly [string, string]> = [];
  const end = input.length;
  // The next '=' is remembered across pairs so that input without any stays linear.
  let nextEquals = -2;
  let start = 0;
  while (start < end) {
    let pairEnd = input.indexOf(AMPERSAND, start);
    if (pairEnd < 0) pairEnd = end;
    if (pairEnd > start) {
      if (nextEquals !== -1 && nextEquals < start) nextEquals = input.indexOf('=', start);
      if (nextEquals >= 0 && nextEquals < pairEnd) {
        list.push([
          decodeFormComponent(input.slice(start, nextEquals)),
          decodeFormComponent(input.slice(nextEquals + 1, pairEnd)),
        ]);
      } else {
        list.push([decodeFormComponent(input.slice(start, pairEnd)), '']);
      }
    }
    start = pairEnd + 1;
  }
  return list;
}

// `name=value` pairs in characters encodeURIComponent leaves alone: such text is its own
// encoding (decodeParams then encodeParams gives it back unchanged), and its values are literal.
const CANONICAL_PARAMS = /^[\w.!~*'()-]+=[\w.!~*'()-]*(?:&[\w.!~*'()-]+=[\w.!~*'()-]*)*$/;

/** True when `text` is exactly encodeParams(decodeParams(text)) and needs no escapes. */
export function isCanonicalParams(text: string): boolean {
  return CANONICAL_PARAMS.test(text);
}

/**
 * The first value of `name` in canonical params text (see isCanonicalParams), without decoding
 * the rest; undefined when absent.
 */
export function canonicalParamValue(text: string, name: string): string | undefined {
  const needle = `${name}=`;
  let at = text.startsWith(needle) ? 0 : -1;
  if (at < 0) {
    const inner = text.indexOf(`&${needle}`);
    if (inner < 0) return undefined;
    at = inner + 1;
  }
  const start = at + needle.length;
  const end = text.indexOf('&', start);
  return text.slice(start, end < 0 ? text.length : end);
}

/** The pairs as an object, the last value of a repeated name winning. */
export function paramsToObject(list: ParamList): Record<string, string> {
  // No prototype, so names like "__proto__" or "toString" are ordinary keys.
  const object = Object.create(null) as Record<string, string>;
  for (const [name, value] of list) object[name] = value;
  return object;
}
