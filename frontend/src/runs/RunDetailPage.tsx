// /runs/:id — one run: its header (pipeline, trigger, state, times; stop, re-run), the DAG of
// its snapshot coloured by task state, the table of its task instances, and a drawer per task
// with attempts and the live log. While the run is not finished its state and tasks are polled
// every second; the snapshot (large, immutable) is read once.
import { useEffect, useMemo, useRef, useState } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { App, Alert, Button, Card, Descriptions, Empty, Popconfirm, Result, Space, Spin, Table } from 'antd';
import { ArrowLeftOutlined, RedoOutlined, StopOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError } from '../api';
import { useT } from '../i18n';
import { RunDag } from './RunDag';
import { runApi, type RunRow, type TaskInstance } from './runApi';
import {
  canRerun,
  canStop,
  formatCpu,
  formatDuration,
  formatKiB,
  formatTime,
  isRunTerminal,
  isTaskTerminal,
} from './states';
import { StateTag } from './StateTag';
import { TaskDrawer } from './TaskDrawer';

const POLL_MS = 1000;

function errorText(e: unknown): string {
  return e instanceof ApiError || e instanceof Error ? e.message : String(e);
}

// Re-renders once a second while `live`, so running durations tick between polls.
function useNow(live: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!live) return;
    const h = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(h);
  }, [live]);
  return live ? now : Date.now();
}

export default function RunDetailPage() {
  const t = useT();
  const { id = '' } = useParams();
  const nav = useNavigate();
  const loc = useLocation();
  // Back to where the user came from inside the app; a link opened from outside has nowhere
  // to go back to but the run list.
  const back = () => (loc.key !== 'default' ? nav(-1) : nav('/runs'));
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [selected, setSelected] = useState<string | null>(null);

  const full = useQuery({ queryKey: ['runs', 'run', id], queryFn: () => runApi.show(id), staleTime: Infinity });
  const live = useQuery({
    queryKey: ['runs', 'live', id],
    queryFn: () => runApi.live(id),
    enabled: full.isSuccess,
    refetchInterval: (q) => (q.state.data && isRunTerminal(q.state.data.state) ? false : POLL_MS),
  });
  const run: RunRow | undefined = live.data ?? full.data;
  const runLive = !!run && !isRunTerminal(run.state);

  const tasks = useQuery({
    queryKey: ['runs', 'tasks', id],
    queryFn: () => runApi.tasks(id),
    enabled: full.isSuccess,
    refetchInterval: () => (runLive ? POLL_MS : false),
  });

  // The last poll of the tasks may predate the run's last state change: read them once more
  // when the run finishes, so the DAG ends on the states the run ended with.
  const lastState = useRef<string | undefined>(undefined);
  const refetchTasks = tasks.refetch;
  useEffect(() => {
    const s = run?.state;
    if (lastState.current !== undefined && s !== lastState.current) void refetchTasks();
    lastState.current = s;
  }, [run?.state, refetchTasks]);

  const now = useNow(runLive);

  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['runs', 'live', id] });
    void qc.invalidateQueries({ queryKey: ['runs', 'tasks', id] });
  };

  const stop = useMutation({
    mutationFn: () => runApi.stop(id),
    onSuccess: () => {
      message.success(t('runs.stopped'));
      refresh();
    },
    onError: (e: Error) => message.error(e.message),
  });
  const rerun = useMutation({
    mutationFn: () => runApi.rerun(id),
    onSuccess: () => {
      message.success(t('runs.rerunStarted'));
      refresh();
    },
    onError: (e: Error) => message.error(e.message),
  });

  const snapshot = full.data?.dag_snapshot;
  const order = useMemo(() => {
    const o = new Map<string, number>();
    (snapshot?.order ?? []).forEach((k, i) => o.set(k, i));
    return o;
  }, [snapshot]);
  const taskRows = useMemo(
    () =>
      [...(tasks.data ?? [])].sort(
        (a, b) => (order.get(a.task_key) ?? 1e9) - (order.get(b.task_key) ?? 1e9) || a.task_key.localeCompare(b.task_key),
      ),
    [tasks.data, order],
  );
  const selectedRow = taskRows.find((r) => r.task_key === selected) ?? null;

  if (full.isLoading) return <Spin style={{ display: 'block', margin: '64px auto' }} />;
  if (full.error || !full.data) {
    return (
      <Result
        status={full.error instanceof ApiError && full.error.httpStatus === 404 ? '404' : 'error'}
        title={t('runs.detail.loadFailed')}
        subTitle={errorText(full.error)}
        extra={
          <Button onClick={() => nav('/runs')} icon={<ArrowLeftOutlined />}>
            {t('runs.back')}
          </Button>
        }
      />
    );
  }

  const r = run ?? full.data;
  const pipelineId = r.pipeline?.id ?? snapshot?.pipeline?.id;
  const pipelineName = r.pipeline?.name ?? snapshot?.pipeline?.name ?? '';

  const columns = [
    {
      title: t('runs.col.task'),
      dataIndex: 'task_key',
      key: 'task_key',
      render: (k: string) => (
        <Button
          type="link"
          size="small"
          style={{ padding: 0, height: 'auto' }}
          onClick={(e) => {
            e.stopPropagation();
            setSelected(k);
          }}
          data-testid="task-link"
        >
          {k}
        </Button>
      ),
    },
    { title: t('runs.col.state'), dataIndex: 'state', key: 'state', render: (s: string) => <StateTag state={s} testId="task-state" /> },
    {
      title: t('runs.col.try'),
      key: 'try',
      render: (_: unknown, ti: TaskInstance) => `${ti.try_number} / ${ti.max_tries}`,
    },
    { title: t('runs.col.started'), dataIndex: 'started_at', key: 'started_at', render: (v: string | null) => formatTime(v) },
    { title: t('runs.col.finished'), dataIndex: 'finished_at', key: 'finished_at', render: (v: string | null) => formatTime(v) },
    {
      title: t('runs.col.duration'),
      key: 'duration',
      render: (_: unknown, ti: TaskInstance) => formatDuration(ti.started_at, isTaskTerminal(ti.state) ? ti.finished_at : null, now),
    },
    { title: t('runs.col.exit_code'), dataIndex: 'exit_code', key: 'exit_code', render: (v: number | null) => v ?? '' },
    { title: t('runs.col.peak_memory'), dataIndex: 'peak_rss_kb', key: 'peak', render: (v: number | null) => formatKiB(v) },
    { title: t('runs.col.cpu_time'), dataIndex: 'cpu_seconds', key: 'cpu', render: (v: number | null) => formatCpu(v) },
  ];

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Card
        title={
          <Space wrap>
            <span>{t('runs.detail.title', { id: r.id })}</span>
            <StateTag state={r.state} testId="run-state" />
          </Space>
        }
        extra={
          <Space wrap>
            <Popconfirm
              title={t('runs.stopConfirm')}
              okText={t('runs.stop')}
              cancelText={t('runs.cancel')}
              onConfirm={() => stop.mutate()}
              disabled={!canStop(r.state)}
            >
              <Button danger icon={<StopOutlined />} disabled={!canStop(r.state)} loading={stop.isPending} data-testid="run-stop">
                {t('runs.stop')}
              </Button>
            </Popconfirm>
            <Button icon={<RedoOutlined />} disabled={!canRerun(r.state)} loading={rerun.isPending} onClick={() => rerun.mutate()} data-testid="run-rerun" title={t('runs.rerunHelp')}>
              {t('runs.rerun')}
            </Button>
            <Button icon={<ArrowLeftOutlined />} onClick={back} data-testid="run-back">
              {t('runs.back')}
            </Button>
          </Space>
        }
      >
        <Descriptions
          size="small"
          column={{ xs: 1, sm: 2, lg: 3 }}
          items={[
            {
              key: 'pipeline',
              label: t('runs.col.pipeline'),
              children: pipelineId ? (
                <Space size={4} wrap>
                  <Link to={`/pipelines/${pipelineId}`} data-testid="run-pipeline">{pipelineName || `#${pipelineId}`}</Link>
                  <Link to={`/runs?pipeline=${pipelineId}`}>({t('runs.detail.allRuns')})</Link>
                </Space>
              ) : (
                ''
              ),
            },
            { key: 'trigger', label: t('runs.col.trigger'), children: r.trigger ? t(`runs.trigger.${r.trigger}`) : '' },
            { key: 'by', label: t('runs.col.created_by'), children: r.created_by?.username ?? '' },
            ...(r.cron_tick ? [{ key: 'tick', label: t('runs.col.cron_tick'), children: formatTime(r.cron_tick) }] : []),
            { key: 'queued', label: t('runs.col.queued'), children: formatTime(r.queued_at) },
            { key: 'start', label: t('runs.col.started'), children: formatTime(r.started_at) },
            { key: 'end', label: t('runs.col.finished'), children: formatTime(r.finished_at) },
            {
              key: 'dur',
              label: t('runs.col.duration'),
              children: <span data-testid="run-duration">{formatDuration(r.started_at, isRunTerminal(r.state) ? r.finished_at : null, now)}</span>,
            },
            ...(r.reason ? [{ key: 'reason', label: t('runs.col.reason'), span: 3, children: r.reason }] : []),
          ]}
        />
        {live.error && <Alert style={{ marginTop: 12 }} type="warning" showIcon message={errorText(live.error)} />}
      </Card>

      <Card title={t('runs.detail.dag')} size="small" styles={{ body: { padding: 8 } }}>
        {tasks.error && <Alert style={{ marginBottom: 8 }} type="error" showIcon message={errorText(tasks.error)} />}
        {snapshot?.tasks && Object.keys(snapshot.tasks).length === 0 && !taskRows.length ? (
          <Empty description={t('runs.detail.noTasks')} />
        ) : (
          <RunDag snapshot={snapshot} tasks={taskRows} selected={selected} onSelect={setSelected} now={now} />
        )}
      </Card>

      <Card title={t('runs.detail.tasks')} size="small">
        <Table<TaskInstance>
          size="small"
          rowKey="id"
          columns={columns}
          dataSource={taskRows}
          loading={tasks.isLoading}
          pagination={false}
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: t('runs.detail.noTasks') }}
          onRow={(ti) => ({ onClick: () => setSelected(ti.task_key), style: { cursor: 'pointer' } })}
          rowClassName={(ti) => (ti.task_key === selected ? 'ant-table-row-selected' : '')}
        />
      </Card>

      <TaskDrawer row={selectedRow} runState={r.state} onClose={() => setSelected(null)} onChanged={refresh} now={now} />
    </Space>
  );
}
