// Loaded with `--import` before a service's entry point (by packagesLoaded): records, one per
// line in the file named by PUSHTECH_RECORD_PACKAGES, the URL of every module the process
// resolves (record-hooks.ts).
// The static imports of an entry point are all resolved before any of its code runs, so the list
// is whole even when the service then stops on a bad setting.
import { register } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const file = process.env.PUSHTECH_RECORD_PACKAGES;
if (file === undefined) throw new Error('record-packages: set PUSHTECH_RECORD_PACKAGES to a file to write');
// The hooks file beside this one: record-hooks.ts under tsx, record-hooks.js once built.
register(`./record-hooks${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url, { data: { file } });
