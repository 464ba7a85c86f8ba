/** Start of the UTC minute holding `ms`, in ms: the key of per-minute series. */
export function minuteOf(ms: number): number {
  return ms - (((ms % 60_000) + 60_000) % 60_000);
}

/** `YYYY/MM/DD/HH` of the UTC hour holding `ms`: the archive's partition folders. */
export function hourPath(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCHours())}`;
}
