import { writeFileSync } from 'node:fs';
import { renderConfigReference } from './config-reference.js';
import { configReferenceFile, configReferenceInput, configReferencePath } from './config-reference-sources.js';
import { describeError } from '@pushtech/runtime';

// `npm run docs:config`: writes docs/configuration.md from the settings' schemas and doc comments.
try {
  writeFileSync(configReferencePath(), renderConfigReference(configReferenceInput));
  process.stdout.write(`wrote ${configReferenceFile}\n`);
} catch (error: unknown) {
  process.stderr.write(`docs:config: ${describeError(error)}\n`);
  process.exitCode = 1;
}
