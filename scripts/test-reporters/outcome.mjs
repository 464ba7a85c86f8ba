// A reporter that writes one line of JSON when the run ends: how many tests failed, and
// whether Node could not read the coverage files. run-tests.mjs reads it to tell a failed test
// from a coverage report that could not be made (see there).

/** @param {AsyncIterable<{ type: string, data: any }>} source */
export default async function* outcome(source) {
  let failed = 0;
  /** @type {string | undefined} */
  let coverageError;
  for await (const event of source) {
    if (event.type === 'test:fail') failed++;
    else if (event.type === 'test:diagnostic' && /^Warning: Could not report code coverage/.test(event.data.message))
      coverageError = event.data.message;
  }
  yield `${JSON.stringify({ failed, coverageError })}\n`;
}
