#!/usr/bin/env node
/**
 * The service's layers and the imports between them (docs/architecture.md, "One way through").
 *
 *   node scripts/import-graph.mjs           prints the layer graph as a Mermaid flowchart, then the check
 *   node scripts/import-graph.mjs --check   the check alone
 *
 * Exits 1 when an import runs up a layer (an arrow from a lower layer to a higher one), naming each file.
 * Type-only imports count: a type is a dependency a reader must follow too. Imports are read with a regex
 * over `import … from '…'` / `export … from '…'` / `import('…')`, which is all the project writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Top to bottom. A file may import its own layer and any layer below it, never one above. Each layer is a
 * folder (or a few files); `match` takes a path relative to the repository, with forward slashes.
 */
export const LAYERS = [
  {
    name: 'main',
    why: 'entry points and the composition root: wire everything, configuration',
    match: (f) => /^src\/[^/]+\.ts$/.test(f) && !/^src\/(errors|logger|metrics)\.ts$/.test(f),
  },
  { name: 'http', why: 'routes: parse, call a use case, answer', match: (f) => f.startsWith('src/http/') },
  { name: 'inspect', why: "operators' tools over the store", match: (f) => f.startsWith('src/inspect/') },
  { name: 'simulators', why: 'local fakes of the services around us', match: (f) => f.startsWith('src/simulators/') },
  { name: 'use-cases', why: 'what a caller can ask for, written once', match: (f) => f.startsWith('src/use-cases/') },
  {
    name: 'adapters',
    why: 'activities, drafting, clients: they implement the ports the worker calls',
    match: (f) => f.startsWith('src/adapters/') && f !== 'src/adapters/ports.ts',
  },
  { name: 'metrics', why: 'an observer of the runtime', match: (f) => f === 'src/metrics.ts' },
  { name: 'runtime', why: 'one step: restore, step, write; the worker and its job queue', match: (f) => f.startsWith('src/runtime/') },
  { name: 'db', why: 'schema, migrations, repositories', match: (f) => f.startsWith('src/db/') },
  { name: 'ports', why: 'the services around us, as interfaces', match: (f) => f === 'src/adapters/ports.ts' },
  {
    name: 'domain',
    why: 'pure rules: negotiation, policies, text',
    match: (f) => /^src\/(negotiation|policies|text)\//.test(f),
  },
  { name: 'machines', why: 'the conversation machine: imports only xstate', match: (f) => f.startsWith('machines/') },
  { name: 'shared', why: 'errors and the logger, usable from anywhere', match: (f) => /^src\/(errors|logger)\.ts$/.test(f) },
];

/** Layers that sit side by side: same rank, so imports between them are neither up nor down. */
const SAME_RANK = [['http', 'inspect', 'simulators']];

const rankOf = (() => {
  const ranks = new Map();
  let rank = 0;
  for (const layer of LAYERS) {
    const group = SAME_RANK.find((names) => names.includes(layer.name));
    const first = group && group.find((name) => ranks.has(name));
    ranks.set(layer.name, first ? ranks.get(first) : rank++);
  }
  return (name) => ranks.get(name);
})();

export function layerOf(file) {
  return LAYERS.find((layer) => layer.match(file))?.name ?? null;
}

const SOURCE_ROOTS = ['src', 'machines'];
const IMPORT = /^\s*(?:import|export)\b[^;'"]*?['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/gm;

function sourceFiles(root) {
  const files = [];
  const walk = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(full);
    }
  };
  for (const dir of SOURCE_ROOTS) walk(path.join(root, dir));
  return files;
}

/** Every relative import between two files of the source roots, as repository-relative paths. */
export function readImports(root = ROOT) {
  const imports = [];
  for (const file of sourceFiles(root)) {
    const from = path.relative(root, file).split(path.sep).join('/');
    for (const match of fs.readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = path.join(path.dirname(file), match[1] ?? match[2]).replace(/\.js$/, '.ts');
      imports.push({ from, to: path.relative(root, target).split(path.sep).join('/') });
    }
  }
  return imports;
}

/** Imports between layers, counted per arrow, and the ones that run up. */
export function layerGraph(imports) {
  const arrows = new Map();
  const upward = [];
  const unplaced = new Set();
  for (const { from, to } of imports) {
    const a = layerOf(from);
    const b = layerOf(to);
    if (a === null) unplaced.add(from);
    if (b === null) unplaced.add(to);
    if (a === null || b === null || a === b) continue;
    const key = `${a}\u0000${b}`;
    arrows.set(key, (arrows.get(key) ?? 0) + 1);
    if (rankOf(b) < rankOf(a)) upward.push({ from, to, fromLayer: a, toLayer: b });
  }
  return {
    arrows: [...arrows].map(([key, count]) => {
      const [from, to] = key.split('\u0000');
      return { from, to, count, upward: rankOf(to) < rankOf(from) };
    }),
    upward,
    unplaced: [...unplaced].sort(),
  };
}

/** A Mermaid flowchart: layers top to bottom, import counts on the arrows, upward arrows drawn red and dashed. */
export function mermaid(graph) {
  const present = new Set(graph.arrows.flatMap((arrow) => [arrow.from, arrow.to]));
  const id = (name) => name.replace(/[^A-Za-z0-9]/g, '_');
  const lines = ['flowchart TD'];
  for (const layer of LAYERS) if (present.has(layer.name)) lines.push(`  ${id(layer.name)}["${layer.name}"]`);
  const order = (name) => rankOf(name) * 100 + LAYERS.findIndex((layer) => layer.name === name);
  const arrows = [...graph.arrows].sort((x, y) => order(x.from) - order(y.from) || order(x.to) - order(y.to));
  const red = [];
  arrows.forEach((arrow, index) => {
    lines.push(`  ${id(arrow.from)} ${arrow.upward ? '-.' : '--'} ${arrow.count} ${arrow.upward ? '.->' : '-->'} ${id(arrow.to)}`);
    if (arrow.upward) red.push(index);
  });
  if (red.length > 0) lines.push(`  linkStyle ${red.join(',')} stroke:#d00,stroke-width:2px`);
  return lines.join('\n');
}

function main(argv) {
  const graph = layerGraph(readImports());
  if (!argv.includes('--check')) console.log(`\`\`\`mermaid\n${mermaid(graph)}\n\`\`\`\n`);
  for (const file of graph.unplaced) console.error(`no layer for ${file}: add it to LAYERS in scripts/import-graph.mjs`);
  for (const { from, to, fromLayer, toLayer } of graph.upward) console.error(`upward import: ${from} (${fromLayer}) -> ${to} (${toLayer})`);
  const failed = graph.upward.length > 0 || graph.unplaced.length > 0;
  console.error(failed ? `${graph.upward.length} upward import(s)` : 'layers: no import runs up a layer');
  return failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) process.exitCode = main(process.argv.slice(2));
