// Plain ESM on purpose: `npm run build` runs it with node, and jest's global setup imports it.
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

/**
 * Builds the managers' console (console/: Preact + htm) into dist/console/: one bundled, minified
 * console.js, its stylesheet and index.html. No CDN: everything the page loads comes from the service.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function buildConsole(outdir = path.join(root, 'dist', 'console')) {
  mkdirSync(outdir, { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(root, 'console', 'src', 'main.ts')],
    bundle: true,
    format: 'esm',
    minify: true,
    target: 'es2022',
    outfile: path.join(outdir, 'console.js'),
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'console.css']) copyFileSync(path.join(root, 'console', file), path.join(outdir, file));
  return outdir;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = await buildConsole();
  console.log(`console built into ${path.relative(process.cwd(), outdir)}`);
}
