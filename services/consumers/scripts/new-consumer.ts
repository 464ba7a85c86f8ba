/**
 * Writes a new consumer from a template: `npm run new-consumer -- <name>` (at the repository
 * root). Creates src/consumers/<name>.ts and test/<name>.test.ts in services/consumers and
 * registers the consumer in src/consumers/index.ts, so `CONSUMER_NAME=<name>` runs it.
 * `--root <dir>` writes into another copy of the service (used by its own test).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { consumerTemplate, consumerTestTemplate } from './consumer-template.js';

const IMPORTS_MARKER = '// new-consumer: imports above this line';
const ENTRIES_MARKER = '  // new-consumer: entries above this line';

function fail(message: string): never {
  process.stderr.write(`new-consumer: ${message}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
const rootFlag = args.indexOf('--root');
const root =
  rootFlag >= 0
    ? path.resolve(args[rootFlag + 1] ?? fail('--root needs a folder'))
    : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const name = args.find((a, i) => !a.startsWith('--') && (rootFlag < 0 || i !== rootFlag + 1));
if (name === undefined) fail('usage: npm run new-consumer -- <name>   (lower snake case, e.g. signup_funnel)');
if (!/^[a-z][a-z0-9_]{0,62}$/.test(name)) fail(`${JSON.stringify(name)} is not lower snake case (e.g. signup_funnel)`);

const fileName = name.replaceAll('_', '-');
const variable = name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const source = path.join(root, 'src', 'consumers', `${fileName}.ts`);
const test = path.join(root, 'test', `${fileName}.test.ts`);
const registry = path.join(root, 'src', 'consumers', 'index.ts');
for (const file of [source, test]) if (existsSync(file)) fail(`${path.relative(root, file)} exists already`);
const index = readFileSync(registry, 'utf8');
if (!index.includes(IMPORTS_MARKER) || !index.includes(ENTRIES_MARKER)) {
  fail(`${path.relative(root, registry)} lost its "new-consumer:" marker comments; register the consumer by hand`);
}
if (index.includes(`'./${fileName}.js'`)) fail(`${name} is registered already`);

writeFileSync(source, consumerTemplate(name, variable));
writeFileSync(test, consumerTestTemplate(name, variable, fileName));
writeFileSync(
  registry,
  index
    .replace(IMPORTS_MARKER, `import { ${variable} } from './${fileName}.js';\n${IMPORTS_MARKER}`)
    .replace(ENTRIES_MARKER, `  ${variable},\n${ENTRIES_MARKER}`),
);
process.stdout.write(
  [
    `created ${path.relative(process.cwd(), source)}`,
    `created ${path.relative(process.cwd(), test)}`,
    `registered ${name} in ${path.relative(process.cwd(), registry)}`,
    `next: edit handleBatch, run its test (npm test -w services/consumers), run it: CONSUMER_NAME=${name} npm start -w services/consumers`,
    '',
  ].join('\n'),
);
