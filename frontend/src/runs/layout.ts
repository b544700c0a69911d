// Where each task of a run's DAG goes: dagre, top to bottom. The graph comes from the run's
// snapshot (what the run executes), plus any task instance the snapshot does not name, so a
// node is never missing.
import { Graph, layout } from '@dagrejs/dagre';
import type { Snapshot } from './runApi';

export const NODE_W = 200;
export const NODE_H = 60;

export interface DagShape {
  names: string[];
  edges: Array<[string, string]>;
}

export function dagShape(snapshot: Snapshot | undefined, extra: string[] = []): DagShape {
  const tasks = snapshot?.tasks ?? {};
  const seen = new Set<string>();
  const names: string[] = [];
  const add = (n: string) => {
    if (!seen.has(n)) {
      seen.add(n);
      names.push(n);
    }
  };
  (snapshot?.order ?? []).forEach(add);
  Object.keys(tasks).sort().forEach(add);
  extra.forEach(add);
  const edges: Array<[string, string]> = [];
  for (const n of names)
    for (const up of tasks[n]?.upstream ?? []) if (seen.has(up)) edges.push([up, n]);
  return { names, edges };
}

// Top-left corners (React Flow's origin) from dagre's centres.
export function layoutDag(shape: DagShape): Record<string, { x: number; y: number }> {
  const g = new Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 40, ranksep: 60, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of shape.names) g.setNode(n, { width: NODE_W, height: NODE_H });
  for (const [a, b] of shape.edges) g.setEdge(a, b);
  layout(g);
  const out: Record<string, { x: number; y: number }> = {};
  for (const n of shape.names) {
    const p = g.node(n) as { x: number; y: number };
    out[n] = { x: p.x - NODE_W / 2, y: p.y - NODE_H / 2 };
  }
  return out;
}
