/**
 * `tsx bench/profile-summary.ts FILE.cpuprofile [per]`: where a profile's CPU went, by package (self time
 * of functions in node_modules/<package>, src/<folder>, Node's internals, V8's own (GC, JSON, regexps…))
 * and by function. `per` divides the milliseconds (e.g. by the events or turns of the window), so that the
 * table reads "ms per event". A reading aid for BENCH_CPU_PROFILE (bench/lib/cpu-profile.ts).
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, perText] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary FILE.cpuprofile [divisor]');
const per = Number(perText ?? 1);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i + 1] ?? 0;
  selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
});

/** The package a frame belongs to; natives (no url) are charged to the nearest caller that has one, named. */
function owner(node: Node): string {
  const { url, functionName } = node.callFrame;
  if (!url) {
    if (functionName.startsWith('(')) return functionName; // (garbage collector), (idle), (program)
    const up = parent.get(node.id);
    const caller = up === undefined ? 'native' : owner(byId.get(up)!);
    return `${caller} › native`;
  }
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const src = url.match(/\/(src|bench|machines|test)\/(.*)$/);
  if (src) return `${src[1]}/${src[2]!.split('/').slice(0, -1).join('/') || '.'}`;
  return url;
}

const totals = new Map<string, number>();
const functions = new Map<string, number>();
let all = 0;
for (const [id, us] of selfUs) {
  const node = byId.get(id)!;
  const key = owner(node);
  if (key === '(idle)') continue;
  all += us;
  totals.set(key, (totals.get(key) ?? 0) + us);
  const { functionName, url, lineNumber } = node.callFrame;
  const name = `${functionName || '(anonymous)'} ${url ? url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench|machines)\//, '$1/') + ':' + (lineNumber + 1) : ''}`;
  functions.set(name, (functions.get(name) ?? 0) + us);
}

// Inclusive: a sample counts for every owner on its stack (once each), so "jsonwebtoken" includes the crypto it calls.
const inclusive = new Map<string, number>();
const ownerOf = new Map<number, string>();
const ownerCached = (id: number) => {
  let key = ownerOf.get(id);
  if (key === undefined) ownerOf.set(id, (key = owner(byId.get(id)!).replace(/ › native$/, '')));
  return key;
};
for (const [id, us] of selfUs) {
  if (ownerCached(id) === '(idle)') continue;
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) seen.add(ownerCached(at));
  for (const key of seen) inclusive.set(key, (inclusive.get(key) ?? 0) + us);
}

// Folded: Node's internals and natives are charged to the nearest package or source folder that called them
// (a socket write to pg, a JSON.stringify to express), so each row is what that code cost, callees in Node included.
const folded = new Map<string, number>();
for (const [id, us] of selfUs) {
  if (ownerCached(id) === '(idle)') continue;
  let key = ownerCached(id);
  for (let at: number | undefined = id; at !== undefined && (key.startsWith('node:') || key === 'native'); at = parent.get(at)) key = ownerCached(at);
  folded.set(key, (folded.get(key) ?? 0) + us);
}

const line = (name: string, us: number) => `${((us / 1000) / per).toFixed(3).padStart(9)} ms ${((100 * us) / all).toFixed(1).padStart(5)} %  ${name}`;
console.log(`busy ${(all / 1000).toFixed(0)} ms (${(all / 1000 / per).toFixed(3)} ms per unit, ${per} units)\n\nby owner (self time):`);
for (const [name, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 45))) console.log(line(name, us));
console.log('\nby owner, Node internals folded into their caller:');
for (const [name, us] of [...folded].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 45))) console.log(line(name, us));
console.log('\nby owner (inclusive: on the stack):');
for (const [name, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 45))) console.log(line(name, us));
console.log('\nby function (self time):');
for (const [name, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 45))) console.log(line(name, us));
