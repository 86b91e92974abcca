import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

/**
 * The machine as a Mermaid `stateDiagram-v2`, generated from the definition itself so that the picture
 * cannot drift from the code (test/unit/machine-diagram.test.ts compares it with docs/machine.md).
 *
 * `npm run diagram` rewrites docs/machine.md; `GET /v1/machine` serves it.
 *
 * What is drawn: every state, a compound one as a box around its children with its own start; every transition that moves (targetless ones, such as an SMS kept
 * while `sending`, and self-transitions are left out); eventless `always` transitions; invoke results as
 * `<id> done` / `<id> error`; final states into `[*]`. Transitions declared on the machine's root apply in
 * every non-final state that does not handle the same event itself; they are drawn once, from a
 * pseudo-state `anyState`. A guarded alternative shows its guard in brackets, and the unguarded fallback
 * after guarded ones shows `[else]`. Order is the definition's order, so the output is deterministic.
 */

const ANY_STATE = 'anyState';

export function toMermaid(machine: AnyStateMachine): string {
  const root = machine.root;
  const lines = ['stateDiagram-v2'];
  declare(root, '  ', lines);

  const initial = root.initial?.target?.[0] as AnyStateNode | undefined;
  if (initial) lines.push(`  [*] --> ${nodeId(initial)}`);

  for (const node of descendants(root)) {
    for (const edge of edgesOf(node)) lines.push(`  ${nodeId(node)} --> ${edge.target} : ${edge.label}`);
  }

  const global = edgesOf(root);
  if (global.length > 0) {
    lines.push(`  state "any non-final state" as ${ANY_STATE}`);
    for (const edge of global) lines.push(`  ${ANY_STATE} --> ${edge.target} : ${edge.label}`);
    lines.push(`  classDef pseudo stroke-dasharray: 4 4`);
    lines.push(`  class ${ANY_STATE} pseudo`);
  }

  for (const node of descendants(root)) {
    if (node.type === 'final' && node.parent === root) lines.push(`  ${nodeId(node)} --> [*]`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The same states and edges as data, for the managers' console to draw with the current state highlighted:
 * states by full path (`negotiating.awaitingConfirmation`, as stored), their parent, and the edges of
 * `toMermaid` (root transitions from `anyState`).
 */
export interface MachineGraph {
  initial: string | null;
  states: Array<{ path: string; key: string; parent: string | null; initial: string | null; final: boolean }>;
  edges: Array<{ from: string; to: string; label: string }>;
}

export function toGraph(machine: AnyStateMachine): MachineGraph {
  const root = machine.root;
  const pathOf = (node: AnyStateNode) => node.path.join('.');
  const initialOf = (node: AnyStateNode) => {
    const target = node.initial?.target?.[0] as AnyStateNode | undefined;
    return target ? pathOf(target) : null;
  };
  const states = descendants(root).map((node) => ({
    path: pathOf(node),
    key: node.key,
    parent: node.parent && node.parent !== root ? pathOf(node.parent) : null,
    initial: children(node).length > 0 ? initialOf(node) : null,
    final: node.type === 'final',
  }));
  const dotted = (id: string) => id.split('_').join('.');
  const edges = [
    ...descendants(root).flatMap((node) => edgesOf(node).map((edge) => ({ from: pathOf(node), to: dotted(edge.target), label: edge.label }))),
    ...edgesOf(root).map((edge) => ({ from: ANY_STATE, to: dotted(edge.target), label: edge.label })),
  ];
  return { initial: initialOf(root), states, edges };
}

/** Mermaid ids are flat: a child state is `parent_child`, shown under its own name inside its parent's box. */
function nodeId(node: AnyStateNode): string {
  return node.path.join('_');
}

function children(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states) as AnyStateNode[];
}

function descendants(node: AnyStateNode): AnyStateNode[] {
  return children(node).flatMap((child) => [child, ...descendants(child)]);
}

/** States in definition order; a compound state is a box with its children and its own start arrow. */
function declare(parent: AnyStateNode, indent: string, lines: string[]) {
  for (const node of children(parent)) {
    if (children(node).length === 0) {
      lines.push(parent.parent === undefined ? `${indent}${node.key}` : `${indent}state "${node.key}" as ${nodeId(node)}`);
      continue;
    }
    lines.push(`${indent}state ${nodeId(node)} {`);
    declare(node, `${indent}  `, lines);
    const initial = node.initial?.target?.[0] as AnyStateNode | undefined;
    if (initial && node.type !== 'parallel') lines.push(`${indent}  [*] --> ${nodeId(initial)}`);
    lines.push(`${indent}}`);
  }
}

interface Edge {
  target: string;
  label: string;
}

/** Outgoing edges of one node: its own `on`/invoke transitions (by event, definition order), then `always`. */
function edgesOf(node: AnyStateNode): Edge[] {
  const edges: Edge[] = [];
  const groups: Array<[string, readonly AnyTransitionDefinition[]]> = [...node.transitions.entries()];
  if (node.always && node.always.length > 0) groups.push(['', node.always]);

  for (const [eventType, candidates] of groups) {
    const event = eventLabel(eventType);
    candidates.forEach((transition, index) => {
      const guardedBefore = candidates.slice(0, index).some((earlier) => earlier.guard !== undefined);
      const guard = transition.guard !== undefined ? `[${guardLabel(transition.guard)}]` : guardedBefore ? '[else]' : '';
      for (const target of transition.target ?? []) {
        if (target === node) continue; // self-transition
        edges.push({ target: nodeId(target), label: [event, guard].filter(Boolean).join(' ') });
      }
    });
  }
  return edges;
}

function eventLabel(eventType: string): string {
  if (eventType === '') return 'always';
  const done = /^xstate\.done\.actor\.(.+)$/.exec(eventType);
  if (done) return `${done[1]} done`;
  const error = /^xstate\.error\.actor\.(.+)$/.exec(eventType);
  if (error) return `${error[1]} error`;
  const after = /^xstate\.after\.(.+?)\./.exec(eventType);
  if (after) return `after ${after[1]}`;
  return eventType;
}

/** `'isCurrentApproval'` → `isCurrentApproval`; `{ type: 'routesTo', params: { route: 'optOut' } }` → `routesTo optOut`. */
function guardLabel(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') return guard.name || 'inline guard';
  if (guard && typeof guard === 'object' && 'type' in guard) {
    const { type, params } = guard as { type: string; params?: unknown };
    if (params && typeof params === 'object') {
      const values = Object.values(params).filter((value) => ['string', 'number', 'boolean'].includes(typeof value));
      if (values.length > 0) return `${type} ${values.join(' ')}`;
    }
    return type;
  }
  return 'guard';
}
