// Decoders report bad input as a value, never by throwing: a hit or message that cannot be
// decoded goes to the dead-letter topic with this one-line reason.
export type Result<T> = { ok: true; value: T } | Failure;

export type Failure = { ok: false; error: string };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail(error: string): Failure {
  return { ok: false, error };
}
