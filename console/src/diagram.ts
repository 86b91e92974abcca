import { html } from 'htm/preact';

/**
 * The conversation machine drawn from its own definition (`graph` of GET /v1/machine, generated from the
 * machine like docs/machine.md), the current state highlighted, the transitions out of it labelled.
 * Layout: top-level states in columns by their distance from the initial state; a compound state is a box
 * around its children.
 */
export interface MachineGraph {
  initial: string | null;
  states: Array<{ path: string; key: string; parent: string | null; initial: string | null; final: boolean }>;
  edges: Array<{ from: string; to: string; label: string }>;
}

const ANY_STATE = 'anyState';
const NODE_W = 170;
const NODE_H = 30;
const HEADER = 24;
const GAP_Y = 26;
const COLUMN_W = 250;
const MARGIN = 20;
const LOOP_ROOM = 70;

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const top = (path: string) => path.split('.')[0]!;

function layout(graph: MachineGraph) {
  const tops = graph.states.filter((s) => s.parent === null).map((s) => s.path);
  const childrenOf = (path: string) => graph.states.filter((s) => s.parent === path);
  // Columns: breadth-first distance from the initial state over edges between top-level states.
  const rank = new Map<string, number>();
  const start = graph.initial ? top(graph.initial) : tops[0]!;
  rank.set(start, 0);
  const queue = [start];
  const finals = new Set(graph.states.filter((s) => s.final).map((s) => s.path));
  while (queue.length > 0) {
    const at = queue.shift()!;
    for (const edge of graph.edges) {
      // The root's transitions (anyState) leave every non-final state.
      const leaves = edge.from === ANY_STATE ? !finals.has(at) : top(edge.from) === at;
      if (!leaves) continue;
      const to = top(edge.to);
      if (!rank.has(to)) {
        rank.set(to, rank.get(at)! + 1);
        queue.push(to);
      }
    }
  }
  const last = Math.max(0, ...rank.values());
  for (const path of tops) if (!rank.has(path)) rank.set(path, last + 1);
  rank.set(ANY_STATE, 0);

  const boxes = new Map<string, Box>();
  const columnY = new Map<number, number>();
  for (const path of [...tops, ANY_STATE]) {
    const column = rank.get(path)!;
    const x = MARGIN + column * COLUMN_W;
    const y = columnY.get(column) ?? MARGIN;
    const kids = path === ANY_STATE ? [] : childrenOf(path);
    const h = kids.length === 0 ? NODE_H : HEADER + kids.length * (NODE_H + 8) + 4;
    boxes.set(path, { x, y, w: NODE_W, h });
    kids.forEach((kid, i) => boxes.set(kid.path, { x: x + 10, y: y + HEADER + i * (NODE_H + 8), w: NODE_W - 20, h: NODE_H }));
    columnY.set(column, y + h + GAP_Y);
  }
  // Room on the right of the last column for the edges that loop back.
  const width = MARGIN * 2 + (Math.max(...rank.values()) + 1) * COLUMN_W - (COLUMN_W - NODE_W) + LOOP_ROOM;
  const height = Math.max(...columnY.values()) + MARGIN;
  return { boxes, width, height, tops };
}

function edgePath(a: Box, b: Box): string {
  if (b.x > a.x + 1) {
    const [x1, y1, x2, y2] = [a.x + a.w, a.y + a.h / 2, b.x, b.y + b.h / 2];
    const dx = (x2 - x1) / 2;
    return `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`;
  }
  // Backwards or within a column: out of the right side and back in from the right.
  const [x1, y1, x2, y2] = [a.x + a.w, a.y + a.h / 2, b.x + b.w, b.y + b.h / 2];
  const bulge = 40 + Math.abs(y2 - y1) / 6;
  return `M${x1},${y1} C${x1 + bulge},${y1} ${x2 + bulge},${y2} ${x2 + 4},${y2}`;
}

/** The states `current` is in (itself and its ancestors), and every non-final one hears the root's edges. */
function activePaths(graph: MachineGraph, current: string) {
  const segments = current.split('.');
  const paths = segments.map((_, i) => segments.slice(0, i + 1).join('.'));
  const final = graph.states.find((s) => s.path === current)?.final ?? false;
  return new Set(final ? paths : [...paths, ANY_STATE]);
}

export function MachineDiagram({ graph, current }: { graph: MachineGraph; current: string }) {
  const { boxes, width, height, tops } = layout(graph);
  const active = activePaths(graph, current);
  const outgoing = graph.edges.filter((e) => active.has(e.from));
  const quiet = graph.edges.filter((e) => !active.has(e.from));
  const edge = (e: MachineGraph['edges'][number], hot: boolean) => {
    const a = boxes.get(e.from);
    const b = boxes.get(e.to);
    if (!a || !b) return null;
    return html`<path class=${hot ? 'edge hot' : 'edge'} d=${edgePath(a, b)} marker-end=${hot ? 'url(#arrow-hot)' : 'url(#arrow)'}><title>${e.from} → ${e.to}: ${e.label}</title></path>`;
  };
  // Labels of the transitions out of the current state, listed beside the picture (drawn labels would overlap).
  const node = (path: string, label: string, kind: string) => {
    const box = boxes.get(path)!;
    const isCurrent = path === current;
    const classes = ['node', kind, isCurrent ? 'current' : active.has(path) ? 'active' : ''].filter(Boolean).join(' ');
    return html`<g class=${classes} data-state=${path} aria-current=${isCurrent ? 'true' : undefined}>
      <rect x=${box.x} y=${box.y} width=${box.w} height=${box.h} rx="8" />
      <text x=${box.x + box.w / 2} y=${kind === 'compound' ? box.y + 16 : box.y + box.h / 2 + 5} text-anchor="middle">${label}</text>
    </g>`;
  };
  return html`
    <figure class="diagram">
      <svg viewBox="0 0 ${width} ${height}" width=${width} height=${height} role="img" aria-labelledby="diagram-title">
        <title id="diagram-title">State diagram of the conversation machine; the current state, ${current}, is highlighted</title>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead" /></marker>
          <marker id="arrow-hot" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead hot" /></marker>
        </defs>
        ${tops.map((path) => {
          const state = graph.states.find((s) => s.path === path)!;
          const kids = graph.states.filter((s) => s.parent === path);
          return html`${node(path, state.key, kids.length > 0 ? 'compound' : state.final ? 'final' : 'atomic')}${kids.map((k) => node(k.path, k.key, 'atomic'))}`;
        })}
        ${node(ANY_STATE, 'any non-final state', 'pseudo')}
        ${quiet.map((e) => edge(e, false))}
        ${outgoing.map((e) => edge(e, true))}
      </svg>
      <figcaption>
        <strong>Now: ${current}.</strong> Ways out of it:
        <ul class="ways-out">${outgoing.map((e) => html`<li><code>${e.label}</code> → ${e.to}</li>`)}</ul>
      </figcaption>
    </figure>
  `;
}
