// Auto-layout of the task graph, top to bottom, with dagre. dagre places node *centres*;
// React Flow positions are the node's *top-left* corner, hence the half-size shift.
import dagre from '@dagrejs/dagre';
import type { GraphEdge } from './graph';

export interface LayoutNode {
  id: string;
  width: number;
  height: number;
}

export interface XY {
  x: number;
  y: number;
}

export function layoutPositions(
  nodes: readonly LayoutNode[],
  edges: readonly GraphEdge[],
  opts: { nodesep?: number; ranksep?: number } = {},
): Map<string, XY> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: opts.nodesep ?? 40, ranksep: opts.ranksep ?? 60, marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set<string>();
  for (const n of nodes) {
    g.setNode(n.id, { width: n.width, height: n.height });
    ids.add(n.id);
  }
  for (const e of edges) if (ids.has(e.source) && ids.has(e.target)) g.setEdge(e.source, e.target);
  dagre.layout(g);
  const out = new Map<string, XY>();
  for (const n of nodes) {
    const p = g.node(n.id) as { x: number; y: number };
    out.set(n.id, { x: Math.round(p.x - n.width / 2), y: Math.round(p.y - n.height / 2) });
  }
  return out;
}
