import { describe, expect, it } from '@jest/globals';
// @ts-expect-error: a plain .mjs script (npm run graph), without type declarations
import { layerGraph, layerOf, mermaid, readImports } from '../../scripts/import-graph.mjs';

type Graph = { arrows: Array<{ from: string; to: string; count: number; upward: boolean }>; upward: Array<{ from: string; to: string }>; unplaced: string[] };

describe('layers: no import runs up a layer (docs/architecture.md, "One way through")', () => {
  it('when the source tree is read, then every file has a layer and no import runs up one', () => {
    const graph: Graph = layerGraph(readImports());
    expect(graph.unplaced).toEqual([]);
    expect(graph.upward).toEqual([]);
    // The reading found the imports at all: the routes reach the database through the layers below them.
    expect(graph.arrows.length).toBeGreaterThan(10);
  });

  it('when the database imported the runtime or the runtime the metrics, then the check names the file', () => {
    const graph: Graph = layerGraph([
      { from: 'src/db/schema.ts', to: 'src/runtime/machine-snapshot.ts' },
      { from: 'src/runtime/worker.ts', to: 'src/metrics.ts' },
      { from: 'src/http/orchestrate.routes.ts', to: 'src/use-cases/receive-sms.ts' },
    ]);
    expect(graph.upward).toEqual([
      { from: 'src/db/schema.ts', to: 'src/runtime/machine-snapshot.ts', fromLayer: 'db', toLayer: 'runtime' },
      { from: 'src/runtime/worker.ts', to: 'src/metrics.ts', fromLayer: 'runtime', toLayer: 'metrics' },
    ]);
    expect(mermaid(graph)).toContain('db -. 1 .-> runtime');
    expect(mermaid(graph)).toContain('http -- 1 --> use_cases');
  });

  it('when a file sits where no layer is declared, then it is reported, not let through', () => {
    expect(layerOf('src/somewhere-new/thing.ts')).toBeNull();
    expect(layerGraph([{ from: 'src/somewhere-new/thing.ts', to: 'src/db/schema.ts' }]).unplaced).toEqual(['src/somewhere-new/thing.ts']);
  });

  it('when the machines imported anything of ours but their own files, then it runs up', () => {
    expect(layerGraph([{ from: 'machines/conversation/conversation.machine.ts', to: 'src/policies/compliance.ts' }]).upward).toHaveLength(1);
  });
});
