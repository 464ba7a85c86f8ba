/**
 * The SDK's builds: ESM and CommonJS for bundlers, React Native and Node, and one minified IIFE
 * for a `<script>` tag that defines `window.pushtech`. Tests and the benchmark build through this
 * too, so what they check is what ships.
 */
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Chrome 80, Safari 13.1, Firefox 74, Hermes, Node 14 and later; esbuild lowers `??=` and the like. */
const TARGET = 'es2020';
/** The budget for the browser build: 2.5 KB minified and gzipped. */
export const BROWSER_BUDGET_BYTES = 2560;

export interface Bundles {
  readonly esm: string;
  readonly cjs: string;
  readonly nodeEsm: string;
  readonly nodeCjs: string;
  readonly iife: string;
}

export async function buildBundles(outDir: string): Promise<Bundles> {
  const common: BuildOptions = { bundle: true, target: TARGET, logLevel: 'warning', legalComments: 'none' };
  const library = (format: 'esm' | 'cjs', entry: string, platform: 'neutral' | 'node'): Promise<unknown> =>
    build({
      ...common,
      entryPoints: [path.join(root, 'src', `${entry}.ts`)],
      format,
      platform,
      outfile: path.join(outDir, `${entry}.${format === 'esm' ? 'js' : 'cjs'}`),
    });
  await Promise.all([
    library('esm', 'index', 'neutral'),
    library('cjs', 'index', 'neutral'),
    library('esm', 'node', 'node'),
    library('cjs', 'node', 'node'),
    build({
      ...common,
      entryPoints: [path.join(root, 'src', 'browser.ts')],
      format: 'iife',
      platform: 'browser',
      minify: true,
      outfile: path.join(outDir, 'pushtech.min.js'),
    }),
  ]);
  return {
    esm: path.join(outDir, 'index.js'),
    cjs: path.join(outDir, 'index.cjs'),
    nodeEsm: path.join(outDir, 'node.js'),
    nodeCjs: path.join(outDir, 'node.cjs'),
    iife: path.join(outDir, 'pushtech.min.js'),
  };
}

/** Minified and gzipped (level 9, as a CDN would serve it) bytes of a built file. */
export function gzippedBytes(file: string): { minified: number; gzipped: number } {
  const text = readFileSync(file);
  return { minified: text.length, gzipped: gzipSync(text, { level: 9 }).length };
}
