import { placeOf, sourceOf, timeOf, type Letter } from './letters.js';

/**
 * Text as a terminal may show it: control characters (an escape sequence in a raw entry could
 * rewrite the screen) are written as \uXXXX; everything else stays as it is.
 */
export function printable(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const iso = (ms: number): string => (Number.isFinite(ms) && ms >= 0 ? new Date(ms).toISOString() : '?');

function short(text: string, max: number): string {
  const one = printable(text);
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

/** Columns padded to their widest cell; the last column is not padded. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** One line per letter: place, time, source, reason, event id, the start of the error. */
export function letterTable(letters: readonly Letter[]): string[] {
  return table([
    ['PLACE', 'TIME (UTC)', 'SOURCE', 'REASON', 'EVENT ID', 'ERROR'],
    ...letters.map((letter) => [
      placeOf(letter),
      iso(timeOf(letter)),
      sourceOf(letter),
      letter.info.ok ? letter.info.value.reason : '?',
      letter.info.ok ? (letter.info.value.id ?? '-') : '-',
      short(letter.info.ok ? letter.info.value.error : `headers do not read: ${letter.info.error}`, 80),
    ]),
  ]);
}

/** One letter in full: what the contract says, every header, and the value as text. */
export function letterLines(letter: Letter, topic: string): string[] {
  const lines = [`letter ${placeOf(letter)} of ${topic}, written ${iso(letter.timestamp)}`];
  if (letter.info.ok) {
    const info = letter.info.value;
    const original =
      info.originalPartition === undefined
        ? info.originalTopic
        : `${info.originalTopic} partition ${info.originalPartition} offset ${info.originalOffset ?? '?'}`;
    lines.push(
      ...table([
        ['source', sourceOf(letter)],
        ['reason', info.reason],
        ['dead-lettered', iso(info.time)],
        ['event id', info.id ?? '-'],
        ['meant for', original],
        [
          'payload',
          info.payload === 'raw-entry'
            ? 'raw-entry (the tracker entry; kafkastore could not make it a message)'
            : 'message (as it was on its topic)',
        ],
        ...(info.legacy ? [['note', 'written before the dead-letter contract; its headers were mapped']] : []),
        ...(info.whole ? [] : [['note', 'cut short by an older kafkastore: not the whole event, not re-drivable']]),
        ['error', printable(info.error)],
      ]).map((l) => `  ${l}`),
    );
  } else {
    lines.push(`  headers do not read as a dead letter: ${printable(letter.info.error)}`);
  }
  lines.push('headers:');
  for (const [name, value] of Object.entries(letter.headers)) lines.push(`  ${printable(name)}: ${printable(value)}`);
  lines.push(`key: ${letter.key === null ? '(none)' : printable(letter.key.toString('utf8'))}`);
  const value = letter.value ?? Buffer.alloc(0);
  lines.push(`value (${value.length} bytes):`, printable(value.toString('utf8')));
  return lines;
}
