import type { Auditor } from './auditor.js';
import type { Check } from './scenario.js';

/** The check of the consumer scenarios: an outage of a consumer's store is not a poison message. */
export function nothingDeadLettered(auditor: Pick<Auditor, 'deadLetters' | 'deadLetterSample'>): Check {
  return {
    name: 'nothing dead-lettered (an outage is not a poison message)',
    ok: auditor.deadLetters === 0,
    detail:
      auditor.deadLetters === 0
        ? 'the dead-letter topic is empty'
        : `${auditor.deadLetters} dead letters, e.g. ${auditor.deadLetterSample[0] ?? ''}`,
  };
}
