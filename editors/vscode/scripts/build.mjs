// Bundles the extension (out/extension.js), the unit tests (out/test/*.test.js, with
// `vscode` aliased to a stub) and the end-to-end driver (out/e2e/e2e.js) with esbuild.
//
//   node scripts/build.mjs            # all three, development (source maps)
//   node scripts/build.mjs --production  # the extension minified, for `vsce package`
//   node scripts/build.mjs --only=extension|test|e2e
import * as esbuild from 'esbuild';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const production = process.argv.includes('--production');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning', absWorkingDir: root };

const builds = {
  extension: () =>
    esbuild.build({
      ...common,
      entryPoints: ['src/extension.ts'],
      outfile: 'out/extension.js',
      external: ['vscode'],
      minify: production,
      sourcemap: !production,
    }),
  test: () =>
    esbuild.build({
      ...common,
      entryPoints: readdirSync(join(root, 'test/unit'))
        .filter((f) => f.endsWith('.test.ts'))
        .map((f) => `test/unit/${f}`),
      outdir: 'out/test',
      alias: { vscode: './test/unit/stub/vscode.ts' },
      sourcemap: 'inline',
    }),
  e2e: () =>
    esbuild.build({
      ...common,
      entryPoints: ['test/e2e/e2e.ts'],
      outfile: 'out/e2e/e2e.js',
      external: ['playwright-core'],
      sourcemap: 'inline',
    }),
};

const started = Date.now();
await Promise.all(Object.entries(builds).filter(([name]) => !only || only === name).map(([, build]) => build()));
console.log(`esbuild: ${only ?? 'extension, test, e2e'} in ${Date.now() - started} ms${production ? ' (production)' : ''}`);
