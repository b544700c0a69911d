// A run's DAG, read-only, each task coloured by its instance's state. Positions are computed
// once per snapshot; only the node data changes as states arrive, so the graph does not jump.
import { memo, useMemo } from 'react';
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeProps,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { SyncOutlined } from '@ant-design/icons';
import { useT } from '../i18n';
import { dagShape, layoutDag, NODE_H, NODE_W } from './layout';
import type { Snapshot, TaskInstance } from './runApi';
import { formatDuration, stateLook } from './states';
import { useStateLabel } from './StateTag';

interface TaskNodeData extends Record<string, unknown> {
  name: string;
  state: string;
  tryNumber: number;
  maxTries: number;
  duration: string;
  template?: string;
}
type TaskNode = Node<TaskNodeData, 'task'>;

const hiddenHandle = { opacity: 0, width: 1, height: 1, minWidth: 0, minHeight: 0, border: 0 };

const TaskNodeView = memo(function TaskNodeView({ data, selected }: NodeProps<TaskNode>) {
  const t = useT();
  const label = useStateLabel();
  const look = stateLook(data.state);
  return (
    <div
      data-testid="run-node"
      data-state={data.state}
      title={data.template ? `${data.name} (${data.template})` : data.name}
      style={{
        width: NODE_W,
        height: NODE_H,
        boxSizing: 'border-box',
        background: look.bg,
        border: `2px ${look.dashed ? 'dashed' : 'solid'} ${look.border}`,
        boxShadow: selected ? `0 0 0 3px ${look.border}55` : undefined,
        borderRadius: 8,
        padding: '6px 10px',
        display: 'flex',
        flexDirection: 'column',
        justifyContent: 'center',
        cursor: 'pointer',
        transition: 'background 0.3s, border-color 0.3s',
      }}
    >
      <Handle type="target" position={Position.Top} isConnectable={false} style={hiddenHandle} />
      <div style={{ fontWeight: 600, whiteSpace: 'nowrap', overflow: 'hidden', textOverflow: 'ellipsis', color: '#1f1f1f' }}>
        {data.name}
      </div>
      <div style={{ fontSize: 12, color: look.fg, display: 'flex', gap: 6, alignItems: 'center', whiteSpace: 'nowrap' }}>
        {look.spin && <SyncOutlined spin />}
        <span>{label(data.state)}</span>
        {data.tryNumber > 1 && <span>· {t('runs.node.try', { n: data.tryNumber, max: data.maxTries })}</span>}
        {data.duration && <span style={{ marginLeft: 'auto', color: '#8c8c8c' }}>{data.duration}</span>}
      </div>
      <Handle type="source" position={Position.Bottom} isConnectable={false} style={hiddenHandle} />
    </div>
  );
});

const nodeTypes = { task: TaskNodeView };

export interface RunDagProps {
  snapshot: Snapshot | undefined;
  tasks: TaskInstance[];
  selected?: string | null;
  onSelect: (taskKey: string) => void;
  // Bumped by the page's clock so running durations tick between polls.
  now: number;
}

export function RunDag({ snapshot, tasks, selected, onSelect, now }: RunDagProps) {
  const byKey = useMemo(() => new Map(tasks.map((ti) => [ti.task_key, ti])), [tasks]);
  const taskKeys = useMemo(() => tasks.map((ti) => ti.task_key).sort().join('\n'), [tasks]);
  const shape = useMemo(
    () => dagShape(snapshot, taskKeys ? taskKeys.split('\n') : []),
    [snapshot, taskKeys],
  );
  const positions = useMemo(() => layoutDag(shape), [shape]);

  const nodes: TaskNode[] = useMemo(
    () =>
      shape.names.map((name) => {
        const ti = byKey.get(name);
        return {
          id: name,
          type: 'task',
          position: positions[name],
          selected: selected === name,
          data: {
            name,
            state: ti?.state ?? 'pending',
            tryNumber: ti?.try_number ?? 0,
            maxTries: ti?.max_tries ?? 1,
            duration: ti ? formatDuration(ti.started_at, ti.finished_at, now) : '',
            template: snapshot?.tasks?.[name]?.template,
          },
        };
      }),
    [shape, positions, byKey, selected, snapshot, now],
  );

  const edges: Edge[] = useMemo(
    () =>
      shape.edges.map(([a, b]) => {
        const target = byKey.get(b)?.state;
        const live = target === 'running' || target === 'submitting';
        const color = stateLook(byKey.get(a)?.state).border;
        return {
          id: `${a}->${b}`,
          source: a,
          target: b,
          animated: live,
          focusable: false,
          markerEnd: { type: MarkerType.ArrowClosed, color },
          style: { stroke: color, strokeWidth: 1.5 },
        };
      }),
    [shape, byKey],
  );

  return (
    <div style={{ height: 'clamp(320px, 50vh, 640px)', border: '1px solid #f0f0f0', borderRadius: 8, background: '#fff' }}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        nodesDraggable={false}
        nodesConnectable={false}
        edgesFocusable={false}
        elementsSelectable
        onNodeClick={(_, n) => onSelect(n.id)}
        fitView
        fitViewOptions={{ padding: 0.15, maxZoom: 1.2 }}
        minZoom={0.1}
        maxZoom={2}
      >
        <Background gap={16} color="#f0f0f0" />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
