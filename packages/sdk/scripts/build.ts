// `npm run build`: the bundles into dist/, then the type declarations (tsc), then the size.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BROWSER_BUDGET_BYTES, buildBundles, gzippedBytes } from './bundles.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bundles = await buildBundles(path.join(root, 'dist'));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
const size = gzippedBytes(bundles.iife);
process.stdout.write(
  `dist/pushtech.min.js: ${size.minified} bytes minified, ${size.gzipped} gzipped (budget ${BROWSER_BUDGET_BYTES})\n`,
);
