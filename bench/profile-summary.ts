/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by package, top N.
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [top] [lastSeconds]
 * With lastSeconds, only the samples of the profile's last N seconds count (e.g. the load phase
 * that ends right before the process stops).
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const [file, topArg, lastArg] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8')) as {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
};
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
const at: number[] = [];
profile.timeDeltas.reduce((t, d, i) => (at[i] = t + d), 0);
const from = lastArg ? at[at.length - 1] - Number(lastArg) * 1e6 : -Infinity;
profile.samples.forEach((id, i) => {
  if (at[i] >= from) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
const fn = new Map<string, number>();
const pkg = new Map<string, number>();
for (const [id, us] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  // The project's own files by folder (src/runs, src/limits …), whichever checkout they ran from.
  const short = url.replace(/^file:\/\/\/work\/(main|wt\/[^/]+)\//, '').replace(/^.*node_modules\//, 'nm:');
  const key = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  const p = !url
    ? functionName
    : url.includes('node_modules/')
      ? url
          .split('node_modules/')[1]
          .split('/')
          .slice(0, url.includes('node_modules/@') ? 2 : 1)
          .join('/')
      : url.startsWith('node:')
        ? 'node:'
        : short.split('/').slice(0, 2).join('/');
  pkg.set(p, (pkg.get(p) ?? 0) + us);
}
const top = Number(topArg ?? 25);
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (total ${(total / 1000).toFixed(0)} ms sampled)`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
};
show('self time by package', pkg);
show('self time by function', fn);
