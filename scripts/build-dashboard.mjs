// Bundles the dashboard (dashboard/src/main.tsx, Preact) into dashboard/dist: assets/main-<hash>.js
// and .css with gzipped copies, and index.html naming them. Run by `postinstall` (so `npm install`
// produces what `npm start` serves) and by `npm start` with --if-missing. The output is gitignored.
//
//   node scripts/build-dashboard.mjs               build (minified, with source maps)
//   node scripts/build-dashboard.mjs --if-missing  only when dist/index.html is absent
//   node scripts/build-dashboard.mjs --out DIR     into DIR instead (tests build their own copy)
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'dashboard/src');
const outFlag = process.argv.indexOf('--out');
const dist = outFlag > 0 ? process.argv[outFlag + 1] : join(root, 'dashboard/dist');

/** Gzipped bytes of the JavaScript the first page load fetches (the 150 KB budget). */
export function firstLoadGzipBytes(dir = dist) {
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const scripts = [...html.matchAll(/<script[^>]+src="\/assets\/([^"]+)"/g)].map((m) => m[1]);
  return scripts.reduce((sum, name) => sum + gzipSync(readFileSync(join(dir, 'assets', name))).length, 0);
}

function indexHtml(script, style) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>openhands-runner</title>
<link rel="icon" href="data:,">
${style ? `<link rel="stylesheet" href="/assets/${style}">\n` : ''}<script type="module" src="/assets/${script}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The dashboard needs JavaScript.</noscript>
</body>
</html>
`;
}

export async function buildDashboard() {
  // esbuild is a dependency of the project itself, so production installs have it too.
  const { build } = await import('esbuild');
  // Build next to dist and swap, so a running service never sees half a build.
  const staging = `${dist}.staging`;
  rmSync(staging, { recursive: true, force: true });
  const result = await build({
    entryPoints: [join(source, 'main.tsx')],
    outdir: join(staging, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    sourcemap: 'linked',
    format: 'esm',
    target: ['es2020'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const script = outputs.find((n) => n.endsWith('.js'));
  const style = outputs.find((n) => n.endsWith('.css'));
  for (const name of outputs.filter((n) => !n.endsWith('.map'))) {
    const path = join(staging, 'assets', name);
    writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }));
  }
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, 'index.html'), indexHtml(script, style));
  rmSync(dist, { recursive: true, force: true });
  renameSync(staging, dist);
  return { script, style, gzipBytes: firstLoadGzipBytes(dist) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--if-missing') && existsSync(join(dist, 'index.html'))) process.exit(0);
  const { script, gzipBytes } = await buildDashboard();
  console.log(
    `dashboard: built ${script}, first load ${(gzipBytes / 1024).toFixed(1)} KiB of JavaScript gzipped`,
  );
}
