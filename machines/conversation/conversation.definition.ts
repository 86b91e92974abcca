import type { AnyStateMachine, AnyStateNode, MachineConfig } from 'xstate';

/**
 * The machine as a plain JSON definition that `createMachine` (and Stately Studio's import) can read back.
 *
 * `machine.definition` is XState's resolved form: its `initial` is a transition object and its targets are
 * state nodes, so `createMachine(machine.definition)` cannot even find an initial state. This walks the
 * resolved state nodes instead and writes what a person would write: `initial` as a key, targets as
 * absolute `#ids`, invokes with their `onDone` / `onError`, `always`, entry and exit actions, guards.
 *
 * Functions have no JSON form. Named actions, guards and actors stay names. Inline ones (XState's
 * `assign`, `raise`, `cancel`, an inline guard) are named `<kind>.<n>` (the kind XState gave them) and
 * returned in `inline` with the function itself, so `createMachine(definition, { actions, guards })`
 * with the original machine's implementations plus `inline` behaves as the original (tested). The context
 * is the initial context of a placeholder input (no real conversation, no number). Invoke inputs, which
 * are functions of the context, are left out of the JSON.
 */

export interface ExportedDefinition {
  definition: MachineConfig<any, any>;
  /** Inline actions and guards by the names the definition gives them. */
  inline: { actions: Record<string, unknown>; guards: Record<string, unknown> };
}

type Fn = ((...args: any[]) => unknown) & { type?: string };

export function exportDefinition(machine: AnyStateMachine, placeholderInput: Record<string, unknown>): ExportedDefinition {
  const inline: ExportedDefinition['inline'] = { actions: {}, guards: {} };
  const names = new Map<unknown, string>();

  function nameInline(kind: 'actions' | 'guards', fn: Fn): string {
    const known = names.get(fn);
    if (known) return known;
    const base = kind === 'guards' ? 'inline.guard' : (fn.type ?? 'inline.action');
    const name = `${base}.${names.size + 1}`;
    names.set(fn, name);
    inline[kind][name] = fn;
    return name;
  }

  function action(a: unknown): unknown {
    if (typeof a === 'function') return nameInline('actions', a as Fn);
    if (a && typeof a === 'object' && 'type' in a) {
      const { type, params } = a as { type: string; params?: unknown };
      return typeof params === 'function' || params === undefined ? { type } : { type, params };
    }
    return a;
  }

  function guard(g: unknown): unknown {
    if (g === undefined) return undefined;
    if (typeof g === 'function') return nameInline('guards', g as Fn);
    if (g && typeof g === 'object' && 'type' in g) {
      const { type, params } = g as { type: string; params?: unknown };
      return params === undefined || typeof params === 'function' ? { type } : { type, params };
    }
    return g;
  }

  function transition(t: any): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (t.target && t.target.length > 0) {
      const targets = (t.target as AnyStateNode[]).map((node) => `#${node.id}`);
      out.target = targets.length === 1 ? targets[0] : targets;
    }
    const g = guard(t.guard);
    if (g !== undefined) out.guard = g;
    if (t.actions?.length) out.actions = t.actions.map(action);
    if (t.reenter) out.reenter = true;
    if (t.description) out.description = t.description;
    return out;
  }

  function node(n: AnyStateNode, isRoot: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (isRoot) out.id = n.id;
    if (n.type === 'final' || n.type === 'parallel' || n.type === 'history') out.type = n.type;
    if (n.type === 'history') out.history = n.history;
    const initial = n.initial?.target?.[0] as AnyStateNode | undefined;
    if (n.type === 'compound' && initial) out.initial = initial.key;
    if (n.description) out.description = n.description;
    if (n.tags.length) out.tags = [...n.tags];
    if (n.entry.length) out.entry = n.entry.map(action);
    if (n.exit.length) out.exit = n.exit.map(action);

    // The machine has no `after` transitions (its timers are delayed raises); an export must not drop one silently.
    if (n.after.length > 0) throw new Error(`exportDefinition does not handle \`after\` yet (state ${n.id})`);
    const invokeEvents = new Set<string>();
    if (n.invoke.length) {
      const invokes = n.invoke.map((inv: any) => {
        const done = `xstate.done.actor.${inv.id}`;
        const error = `xstate.error.actor.${inv.id}`;
        invokeEvents.add(done).add(error);
        const out: Record<string, unknown> = { id: inv.id, src: typeof inv.src === 'string' ? inv.src : inv.id };
        if (n.transitions.has(done)) out.onDone = n.transitions.get(done)!.map(transition);
        if (n.transitions.has(error)) out.onError = n.transitions.get(error)!.map(transition);
        return out;
      });
      out.invoke = invokes.length === 1 ? invokes[0] : invokes;
    }
    const on: Record<string, unknown> = {};
    for (const [event, list] of n.transitions) {
      if (invokeEvents.has(event) || event.startsWith('xstate.after.')) continue;
      on[event] = list.map(transition);
    }
    if (Object.keys(on).length) out.on = on;
    if (n.always?.length) out.always = n.always.map(transition);
    const children = Object.values(n.states) as AnyStateNode[];
    if (children.length) out.states = Object.fromEntries(children.map((child) => [child.key, node(child, false)]));
    return out;
  }

  const definition = node(machine.root, true) as MachineConfig<any, any>;
  const context = (machine.config as { context?: unknown }).context;
  const initialContext = typeof context === 'function' ? context({ input: placeholderInput, spawn: () => null, self: null }) : context;
  return { definition: { ...definition, context: JSON.parse(JSON.stringify(initialContext ?? {})) }, inline };
}

/** The input of the placeholder conversation whose initial context the exported JSON shows: no real ids, no number. */
export const PLACEHOLDER_INPUT = { conversationId: 'conversation-id', tenantId: 'tenant-id', phone: '' };

/** The JSON definition alone, for Stately Studio, the inspector and `GET /v1/machine`. */
export function studioDefinition(machine: AnyStateMachine): ExportedDefinition['definition'] {
  return exportDefinition(machine, PLACEHOLDER_INPUT).definition;
}
