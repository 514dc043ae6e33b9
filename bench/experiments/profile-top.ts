/**
 * Sums up a `.cpuprofile` (from `node --cpu-prof`, or the timed windows of
 * `BENCH_WINDOW_PROFILE=1 npm run bench -- --only=delivery`): the share of
 * samples that were idle, garbage collection and each function's own time,
 * top first, and the same by package or folder.
 *
 *   node dist/bench/bench/experiments/profile-top.js FILE.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';

interface Node {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly children?: number[];
}
interface Profile {
  readonly nodes: Node[];
  readonly samples: number[];
  readonly timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfMicros = new Map<number, number>();
profile.samples.forEach((id, index) => {
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
});
const total = [...selfMicros.values()].reduce((a, b) => a + b, 0);

/** Where a frame's code lives: a package, the library's folder, or Node itself. */
function placeOf(url: string): string {
  if (url === '') return '(native or V8)';
  if (url.startsWith('node:'))
    return url.split('/')[0].replace(/:.*$/, ':') + url.slice(5).split('/')[0];
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + 13).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const src = url.lastIndexOf('/src/');
  if (src >= 0)
    return url
      .slice(src + 1)
      .split('/')
      .slice(0, -1)
      .join('/');
  return url.split('/').slice(-2).join('/');
}

const byFunction = new Map<string, number>();
const byPlace = new Map<string, number>();
for (const [id, micros] of selfMicros) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const name = url
    ? `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`
    : functionName;
  byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
  const place = url ? placeOf(url) : functionName;
  byPlace.set(place, (byPlace.get(place) ?? 0) + micros);
}

const top = Number(topArg ?? 25);
const print = (title: string, table: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [name, micros] of [...table].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${((100 * micros) / total).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(1).padStart(8)} ms  ${name}`,
    );
  }
};
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled`);
print('Self time by function', byFunction);
print('Self time by package or folder', byPlace);
