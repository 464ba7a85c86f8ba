// String.prototype.isWellFormed/toWellFormed exist on Node 20 but are ES2024 lib, and this
// package compiles against ES2023 so that services typechecking its source need no lib change.
type WellFormedString = string & { isWellFormed(): boolean; toWellFormed(): string };

/** Replaces lone surrogates with U+FFFD; well-formed strings come back unchanged. */
export function toWellFormed(text: string): string {
  const s = text as WellFormedString;
  return s.isWellFormed() ? text : s.toWellFormed();
}
