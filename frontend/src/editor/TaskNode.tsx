// One task on the canvas. Memoised, with data that changes only when this task changes, so
// dragging one node among 200 re-renders that node alone.
import { memo, type ReactNode } from 'react';
import { Handle, Position, type Node, type NodeProps } from '@xyflow/react';
import {
  CheckCircleFilled,
  ClockCircleOutlined,
  CloseCircleFilled,
  EditOutlined,
  MinusCircleOutlined,
  RedoOutlined,
  StopOutlined,
  StepForwardOutlined,
  SyncOutlined,
} from '@ant-design/icons';
import { useT } from '../i18n';

export interface TaskNodeData extends Record<string, unknown> {
  name: string;
  label: string;
  template: string;
  // The task's state in the pipeline's newest run, if any.
  state?: string;
  // Not on the server yet (created by Save).
  draft?: boolean;
}

// cube-studio stores its editor nodes with type "dataSet"; keeping the name keeps exported
// layouts interchangeable.
export const NODE_TYPE = 'dataSet';
export type TaskFlowNode = Node<TaskNodeData, typeof NODE_TYPE>;

const STATE_ICONS: Record<string, { icon: ReactNode; color: string }> = {
  succeeded: { icon: <CheckCircleFilled />, color: '#52c41a' },
  failed: { icon: <CloseCircleFilled />, color: '#ff4d4f' },
  upstream_failed: { icon: <MinusCircleOutlined />, color: '#fa8c16' },
  running: { icon: <SyncOutlined spin />, color: '#1677ff' },
  submitting: { icon: <SyncOutlined spin />, color: '#1677ff' },
  up_for_retry: { icon: <RedoOutlined />, color: '#fa8c16' },
  queued: { icon: <ClockCircleOutlined />, color: '#8c8c8c' },
  pending: { icon: <ClockCircleOutlined />, color: '#8c8c8c' },
  scheduled: { icon: <ClockCircleOutlined />, color: '#8c8c8c' },
  skipped: { icon: <StepForwardOutlined />, color: '#8c8c8c' },
  cancelled: { icon: <StopOutlined />, color: '#8c8c8c' },
};

function TaskNodeView({ data, selected }: NodeProps<TaskFlowNode>) {
  const t = useT();
  const st = data.state ? STATE_ICONS[data.state] : undefined;
  const stateText = data.state ? t(`editor.state.${data.state}`) : '';
  return (
    <div className={`cube-task-node${selected ? ' is-selected' : ''}${data.draft ? ' is-draft' : ''}`}>
      <Handle type="target" position={Position.Top} />
      <div className="cube-task-node__title">
        {st && (
          <span className="cube-task-node__state" style={{ color: st.color }} title={stateText} aria-label={stateText} data-state={data.state}>
            {st.icon}
          </span>
        )}
        {data.draft && (
          <span className="cube-task-node__state" title={t('editor.node.draft')} aria-label={t('editor.node.draft')}>
            <EditOutlined />
          </span>
        )}
        <span className="cube-task-node__name">{data.label || data.name}</span>
      </div>
      <div className="cube-task-node__sub">
        {data.label && data.label !== data.name ? `${data.name} · ` : ''}
        {data.template}
      </div>
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
}

export const TaskNode = memo(TaskNodeView);
// Defined once, outside any component: React Flow warns when nodeTypes changes identity.
export const nodeTypes = { [NODE_TYPE]: TaskNode };

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 56;
