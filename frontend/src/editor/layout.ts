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

export interface Box extends XY {
  width: number;
  height: number;
}

// Where a node of w×h asked for at `at` fits without covering another: the same column, moved
// down below each node it would overlap (with `gap` between them) until nothing is in the way.
export function freeSpot(at: XY, taken: readonly Box[], w: number, h: number, gap = 24): XY {
  let y = at.y;
  for (;;) {
    const hit = taken.filter((b) => at.x < b.x + b.width + gap && b.x < at.x + w + gap && y < b.y + b.height + gap && b.y < y + h + gap);
    if (hit.length === 0) return { x: at.x, y };
    y = Math.max(...hit.map((b) => b.y + b.height + gap));
  }
}
