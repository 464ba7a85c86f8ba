import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommand, UsageError, type Command } from '../src/options.js';

const NOW = Date.parse('2026-12-03T10:00:00Z');

describe('dlq command line', () => {
  it('reads every command and filter', () => {
    const cases: [string[], Command][] = [
      [['list'], { name: 'list', filter: { reason: undefined, since: undefined, source: undefined }, limit: 100 }],
      [
        ['list', '--reason', 'too_large', '--since', '2h', '--source', 'consumer:stats', '--limit', '5'],
        { name: 'list', filter: { reason: 'too_large', since: NOW - 7_200_000, source: 'consumer:stats' }, limit: 5 },
      ],
      [['show', '3:42'], { name: 'show', address: { partition: 3, offset: '42' } }],
      [['show', '42'], { name: 'show', address: { partition: undefined, offset: '42' } }],
      [
        ['redrive', '--since', '2026-12-02', '--dry-run'],
        {
          name: 'redrive',
          filter: { reason: undefined, since: Date.parse('2026-12-02T00:00:00Z'), source: undefined },
          dryRun: true,
        },
      ],
      [
        ['redrive', '--since', '2026-12-03T09:30', '--source', 'kafkastore'],
        {
          name: 'redrive',
          filter: { reason: undefined, since: Date.parse('2026-12-03T09:30:00Z'), source: 'kafkastore' },
          dryRun: false,
        },
      ],
      [
        ['redrive', '--since', '1764752400000'],
        { name: 'redrive', filter: { reason: undefined, since: 1764752400000, source: undefined }, dryRun: false },
      ],
      [['--help'], { name: 'help' }],
      [['list', '-h'], { name: 'help' }],
    ];
    for (const [argv, expected] of cases) assert.deepEqual(parseCommand(argv, NOW), expected, argv.join(' '));
  });

  it('says what is wrong with a bad command line', () => {
    const cases: [string[], RegExp][] = [
      [[], /no command given; one of: list, show <partition:offset>, redrive/],
      [['purge'], /unknown command "purge"; one of: list, show, redrive/],
      [['list', 'extra'], /list takes no arguments, got "extra"/],
      [['list', '--reason'], /--reason needs a value/],
      [['list', '--reason', 'bad'], /--reason "bad" is not a reason; one of: undecodable, unencodable, too_large/],
      [['list', '--since', 'yesterday'], /--since "yesterday" is not a time/],
      [['list', '--since', '2026-13-45'], /--since "2026-13-45" is not a time/],
      [
        ['list', '--source', 'tracker'],
        /--source "tracker" is not a source; one of: kafkastore, consumer, consumer:<name>/,
      ],
      [['list', '--limit', '0'], /--limit must be a whole number of letters, at least 1, got "0"/],
      [['list', '--dry-run'], /--dry-run applies to redrive only/],
      [['list', '--force'], /unknown option --force/],
      [['redrive', '--limit', '3'], /--limit applies to list only/],
      [['redrive', '--dry-run=yes'], /--dry-run takes no value/],
      [['show'], /show: expected one letter, <partition:offset> or <offset>, got none/],
      [['show', '1', '2'], /show: expected one letter.*got "1" "2"/],
      [['show', 'abc'], /show: "abc" is not a letter's place/],
      [['show', '-1'], /unknown option -1/],
      [['show', '0:1', '--reason', 'too_large'], /--reason does not apply to show/],
    ];
    for (const [argv, message] of cases) {
      assert.throws(
        () => parseCommand(argv, NOW),
        (e: unknown) => e instanceof UsageError && message.test(e.message),
        argv.join(' '),
      );
    }
  });
});
