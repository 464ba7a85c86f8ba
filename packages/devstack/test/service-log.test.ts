import assert from 'node:assert/strict';
import { it } from 'node:test';
import { formatServiceLine } from '../src/service-log.js';

const json = (entry: Record<string, unknown>): string =>
  JSON.stringify({
    level: 'info',
    time: '2026-01-02T03:04:05.678Z',
    service: 'tracker',
    pid: 1,
    hostname: 'h',
    ...entry,
  });

it('shows each service log event as one line, prefixed with the service', () => {
  const cases: [string, string, 'json' | 'pretty', string][] = [
    ['not JSON passes through', 'npm warn something', 'pretty', '[tracker] npm warn something'],
    ['JSON stays JSON with LOG_FORMAT=json', json({ msg: 'hi' }), 'json', `[tracker] ${json({ msg: 'hi' })}`],
    [
      'fields after the message, strings with spaces quoted',
      json({ level: 'warn', msg: 'listening', port: 8380, host: 'a b', tags: ['x'] }),
      'pretty',
      '[tracker] 03:04:05.678 WARN  listening port=8380 host="a b" tags=["x"]',
    ],
    [
      'an error with its causes on the same line, without the stack',
      json({
        level: 'error',
        msg: 'failed',
        err: { type: 'Error', message: 'outer', stack: 'Error: outer\n    at x', cause: { message: 'inner\nline' } },
      }),
      'pretty',
      '[tracker] 03:04:05.678 ERROR failed err="Error: outer <- caused by inner\\nline"',
    ],
  ];
  for (const [name, line, format, expected] of cases) {
    const shown = formatServiceLine('tracker', line, format);
    assert.equal(shown, expected, name);
    assert.equal(shown.includes('\n'), false, name);
  }
});
