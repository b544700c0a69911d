// The editor's graph helpers: cycle detection before an edge is added, and the mapping between
// the server's dag_json (by task name) and the canvas edges (by task id).
import { describe, expect, it } from 'vitest';
import { cycleIfAdded, dagToEdges, edgesToDag, uniqueTaskName } from './graph';
import { freeSpot, layoutPositions } from './layout';

describe('cycleIfAdded', () => {
  const chain = [
    { source: 'a', target: 'b' },
    { source: 'b', target: 'c' },
  ];

  it('accepts an edge that keeps the graph acyclic', () => {
    expect(cycleIfAdded(chain, 'a', 'c')).toBeNull();
    expect(cycleIfAdded(chain, 'c', 'd')).toBeNull();
    expect(cycleIfAdded([], 'x', 'y')).toBeNull();
  });

  it('names the cycle an edge back up the chain would close, following the arrows', () => {
    // c -> a with a -> b -> c: c -> a -> b -> c
    expect(cycleIfAdded(chain, 'c', 'a')).toEqual(['c', 'a', 'b', 'c']);
    expect(cycleIfAdded(chain, 'b', 'a')).toEqual(['b', 'a', 'b']);
  });

  it('refuses a self edge', () => {
    expect(cycleIfAdded(chain, 'b', 'b')).toEqual(['b', 'b']);
  });

  it('names a shortest cycle when there are several ways back', () => {
    const g = [
      { source: 'a', target: 'b' },
      { source: 'b', target: 'c' },
      { source: 'c', target: 'd' },
      { source: 'a', target: 'd' },
    ];
    expect(cycleIfAdded(g, 'd', 'a')).toEqual(['d', 'a', 'd']);
  });

  it('handles a long chain without recursion', () => {
    const edges = Array.from({ length: 5000 }, (_, i) => ({ source: `n${i}`, target: `n${i + 1}` }));
    const c = cycleIfAdded(edges, 'n5000', 'n0');
    expect(c).toHaveLength(5002);
    expect(c?.[0]).toBe('n5000');
    expect(c?.[c.length - 1]).toBe('n5000');
  });
});

describe('dag_json <-> edges', () => {
  const ids = new Map([
    ['prepare', '1'],
    ['train', '2'],
    ['report', '3'],
  ]);
  const names = new Map([...ids].map(([n, i]) => [i, n]));

  it('turns upstream lists into edges upstream -> task', () => {
    const dag = { prepare: { upstream: [] }, train: { upstream: ['prepare'] }, report: { upstream: ['train', 'prepare'] } };
    expect(dagToEdges(dag, ids)).toEqual([
      { source: '1', target: '2' },
      { source: '2', target: '3' },
      { source: '1', target: '3' },
    ]);
  });

  it('drops unknown names, malformed entries and duplicates', () => {
    const dag = { train: { upstream: ['prepare', 'prepare', 'ghost'] }, ghost: { upstream: ['train'] }, report: { upstream: null } };
    expect(dagToEdges(dag, ids)).toEqual([{ source: '1', target: '2' }]);
    expect(dagToEdges(null, ids)).toEqual([]);
  });

  it('writes every task, upstreams sorted and unique', () => {
    const edges = [
      { source: '2', target: '3' },
      { source: '1', target: '3' },
      { source: '1', target: '3' },
      { source: '1', target: '2' },
    ];
    expect(edgesToDag(names, edges)).toEqual({
      prepare: { upstream: [] },
      train: { upstream: ['prepare'] },
      report: { upstream: ['prepare', 'train'] },
    });
  });

  it('round-trips', () => {
    const dag = { prepare: { upstream: [] }, train: { upstream: ['prepare'] }, report: { upstream: ['prepare', 'train'] } };
    expect(edgesToDag(names, dagToEdges(dag, ids))).toEqual(dag);
  });
});

describe('uniqueTaskName', () => {
  it('makes a valid name from a template name', () => {
    expect(uniqueTaskName('customize', new Set())).toBe('customize');
    expect(uniqueTaskName('Shell_Script', new Set())).toBe('shell-script');
    expect(uniqueTaskName('3d-render', new Set())).toBe('d-render');
    expect(uniqueTaskName('自定义镜像', new Set())).toBe('task');
    expect(uniqueTaskName('x', new Set())).toBe('x-task');
    expect(uniqueTaskName('a'.repeat(80), new Set())).toHaveLength(50);
  });

  it('adds the first free suffix', () => {
    expect(uniqueTaskName('train', new Set(['train']))).toBe('train-2');
    expect(uniqueTaskName('train', new Set(['train', 'train-2']))).toBe('train-3');
  });

  it('always gives a name the server accepts', () => {
    for (const n of ['python', 'A', '--', '9', 'ok-', 'a__b', 'Ünïcode']) {
      const name = uniqueTaskName(n, new Set());
      expect(name).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/);
      expect(name.length).toBeGreaterThanOrEqual(2);
      expect(name.length).toBeLessThanOrEqual(54);
    }
  });
});

describe('layoutPositions', () => {
  it('lays a chain out top to bottom, as top-left corners', () => {
    const nodes = ['a', 'b', 'c'].map((id) => ({ id, width: 200, height: 60 }));
    const pos = layoutPositions(nodes, [
      { source: 'a', target: 'b' },
      { source: 'b', target: 'c' },
    ]);
    const a = pos.get('a')!;
    const b = pos.get('b')!;
    const c = pos.get('c')!;
    expect(a.y).toBeLessThan(b.y);
    expect(b.y).toBeLessThan(c.y);
    // One column: same x; ranks 60 apart plus the node height.
    expect(a.x).toBe(b.x);
    expect(b.y - a.y).toBe(60 + 60);
    // dagre's centre of the first node is (100, 30) with no margin: the corner is (0, 0).
    expect(a).toEqual({ x: 0, y: 0 });
  });

  it('puts siblings side by side without overlap', () => {
    const nodes = ['r', 'x', 'y'].map((id) => ({ id, width: 200, height: 60 }));
    const pos = layoutPositions(nodes, [
      { source: 'r', target: 'x' },
      { source: 'r', target: 'y' },
    ]);
    expect(pos.get('x')!.y).toBe(pos.get('y')!.y);
    expect(Math.abs(pos.get('x')!.x - pos.get('y')!.x)).toBeGreaterThanOrEqual(200);
  });

  it('ignores edges to unknown nodes', () => {
    const pos = layoutPositions([{ id: 'a', width: 10, height: 10 }], [{ source: 'a', target: 'zz' }]);
    expect([...pos.keys()]).toEqual(['a']);
  });
});

describe('freeSpot', () => {
  const box = (x: number, y: number) => ({ x, y, width: 200, height: 56 });
  const overlaps = (p: { x: number; y: number }, b: ReturnType<typeof box>) =>
    p.x < b.x + b.width && b.x < p.x + 200 && p.y < b.y + b.height && b.y < p.y + 56;

  it('keeps the spot asked for when it is free', () => {
    expect(freeSpot({ x: 0, y: 0 }, [box(300, 0), box(0, 200)], 200, 56)).toEqual({ x: 0, y: 0 });
  });

  it('moves below a node that covers part of the spot, not only one at the same corner', () => {
    // 160 px to the left of a node: the old 20 px nudge saw no conflict here.
    const taken = [box(160, 10)];
    const p = freeSpot({ x: 0, y: 0 }, taken, 200, 56);
    expect(p.x).toBe(0);
    expect(p.y).toBe(10 + 56 + 24);
    expect(taken.some((b) => overlaps(p, b))).toBe(false);
  });

  it('walks down a column of nodes to the first gap that fits', () => {
    const taken = [box(0, 0), box(0, 80), box(0, 160), box(0, 400)];
    const p = freeSpot({ x: 0, y: 0 }, taken, 200, 56);
    expect(p).toEqual({ x: 0, y: 240 });
    expect(taken.some((b) => overlaps(p, b))).toBe(false);
  });
});
