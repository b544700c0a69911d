// The pipeline's task graph as the editor sees it. The server stores dependencies by task
// *name* in dag_json ({task: {"upstream": [names]}}); the canvas works with task *ids* (node
// ids), because names can be edited. An edge source -> target means "target depends on source".
// Pure functions, unit-tested in graph.test.ts.
import type { FormRule } from 'antd';

export interface GraphEdge {
  source: string;
  target: string;
}

export type DagJson = Record<string, { upstream?: string[] | null }>;

export function edgeId(source: string, target: string): string {
  return `e${source}-${target}`;
}

// If adding source -> target would close a cycle, the cycle as node ids, starting and ending at
// source and following the arrows (source -> target -> ... -> source); null if it would not.
// A self edge is the cycle [source, source]. Breadth-first, so the cycle named is a shortest one.
export function cycleIfAdded(edges: readonly GraphEdge[], source: string, target: string): string[] | null {
  if (source === target) return [source, source];
  const out = new Map<string, string[]>();
  for (const e of edges) {
    const list = out.get(e.source);
    if (list) list.push(e.target);
    else out.set(e.source, [e.target]);
  }
  // Is source reachable from target?
  const prev = new Map<string, string>();
  const queue = [target];
  const seen = new Set([target]);
  for (let i = 0; i < queue.length; i++) {
    const n = queue[i];
    if (n === source) {
      const path = [n];
      for (let p = prev.get(n); p !== undefined; p = prev.get(p)) path.push(p);
      path.reverse(); // target ... source
      return [source, ...path];
    }
    for (const m of out.get(n) ?? []) {
      if (!seen.has(m)) {
        seen.add(m);
        prev.set(m, n);
        queue.push(m);
      }
    }
  }
  return null;
}

// The canvas edges of dag_json, given the id of each task name. Entries naming unknown tasks
// are dropped (the server refuses to store them anyway); duplicates collapse.
export function dagToEdges(dag: DagJson | null | undefined, idOfName: ReadonlyMap<string, string>): GraphEdge[] {
  const edges: GraphEdge[] = [];
  const seen = new Set<string>();
  for (const [name, entry] of Object.entries(dag ?? {})) {
    const target = idOfName.get(name);
    if (target === undefined || !entry || !Array.isArray(entry.upstream)) continue;
    for (const up of entry.upstream) {
      const source = idOfName.get(up);
      if (source === undefined) continue;
      const id = edgeId(source, target);
      if (!seen.has(id)) {
        seen.add(id);
        edges.push({ source, target });
      }
    }
  }
  return edges;
}

// dag_json for the server: every task (roots with an empty upstream), upstreams sorted and
// unique, which is also the server's normalised form.
export function edgesToDag(nameOfId: ReadonlyMap<string, string>, edges: readonly GraphEdge[]): DagJson {
  const ups = new Map<string, Set<string>>();
  for (const name of nameOfId.values()) ups.set(name, new Set());
  for (const e of edges) {
    const s = nameOfId.get(e.source);
    const t = nameOfId.get(e.target);
    if (s === undefined || t === undefined) continue;
    ups.get(t)?.add(s);
  }
  const dag: DagJson = {};
  for (const [name, set] of ups) dag[name] = { upstream: [...set].sort() };
  return dag;
}

// Task names: ^[a-z][a-z0-9-]*[a-z0-9]$, 2 to 54 characters.
export const TASK_NAME_RE = /^[a-z][a-z0-9-]*[a-z0-9]$/;
const NAME_MAX = 54;

// The form rules of a task's or pipeline's name (the server checks the same); `required` off
// where an empty name means "keep the one given" (import).
export function nameRules(t: (key: string) => string, required = true): FormRule[] {
  return [
    ...(required ? [{ required: true, whitespace: true, message: t('editor.task.nameRequired') }] : []),
    { min: 2, max: NAME_MAX, message: t('editor.task.nameLength') },
    { pattern: TASK_NAME_RE, message: t('editor.task.namePattern') },
  ];
}

// A valid task name from a template name, not in taken: "train", then "train-2", "train-3"...
export function uniqueTaskName(base: string, taken: ReadonlySet<string>): string {
  let b = base
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '');
  if (b.length < 2) b = b ? `${b}-task` : 'task';
  b = b.slice(0, NAME_MAX - 4).replace(/-+$/, '');
  if (!taken.has(b)) return b;
  for (let k = 2; ; k++) {
    const name = `${b}-${k}`;
    if (!taken.has(name)) return name;
  }
}
