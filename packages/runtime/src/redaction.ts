/**
 * Passwords never reach a log line or an error message. A URL's password is the secret most
 * often printed by accident (a Redis URL in a "connected" line, a client's error message), so
 * the logger removes it from every line, and code that prints a URL on purpose uses redactUrl.
 */

/**
 * `scheme://user:password@`: the user ends at the first `:`; the password runs to the last `@`
 * before the authority ends (whitespace, `/`, `?`, `#`, a quote), as URL parsers read an
 * unescaped `@` in a password. The greedy password and backtracking find that last `@`. A
 * scheme starts only where a word starts and is short, so a long line costs linear time.
 */
const URL_PASSWORD = /(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/[^\s/?#:"<>]*):[^\s/?#"<>]*@/g;

/**
 * `text` with the password of every URL in it replaced by `***`
 * (`redis://user:s3cret@host:6379` → `redis://user:***@host:6379`); the rest is unchanged.
 * For one URL or for any text that may hold some (an error message, a log line).
 */
export function redactUrl(text: string): string {
  // The quick checks keep the logger's hot path cheap: most lines hold no `@` at all.
  if (!text.includes('@') || !text.includes('://')) return text;
  return text.replace(URL_PASSWORD, '$1:***@');
}
