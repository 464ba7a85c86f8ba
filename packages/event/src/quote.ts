const MAX_QUOTED = 64;

/**
 * Quotes input for a one-line error reason: JSON escapes control characters, long input is
 * cut so a reason stays readable in a log line or a dead-letter header.
 */
export function quote(text: string): string {
  const cut = text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
  return JSON.stringify(cut).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}
