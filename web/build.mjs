// Bundles every file in src/entries/ into the directory named by the first argument.
// Run by crates/buurtnet-web/build.rs; the result is embedded in the buurtnet binary.
import * as esbuild from 'esbuild';
import { readdirSync } from 'node:fs';

const outdir = process.argv[2];
if (!outdir) {
  console.error('usage: node build.mjs OUTDIR');
  process.exit(2);
}
const entryPoints = readdirSync('src/entries')
  .filter((f) => f.endsWith('.js') || f.endsWith('.css'))
  .map((f) => `src/entries/${f}`);

await esbuild.build({
  entryPoints,
  outdir,
  bundle: true,
  minify: true,
  // Classic scripts: they load with <script defer> and as a service worker everywhere.
  format: 'iife',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  loader: { '.png': 'file', '.svg': 'file', '.woff2': 'file', '.woff': 'file' },
  assetNames: '[name]-[hash]',
  publicPath: '/assets',
  legalComments: 'eof',
  logLevel: 'warning',
});
