// One task instance of a run: its figures, every attempt, "clear" (it and its downstream run
// again) and the live log of the attempt chosen (the latest by default, following retries).
import { useEffect, useRef, useState } from 'react';
import { App, Alert, Button, Descriptions, Drawer, Popconfirm, Segmented, Space, Spin, Table, Tabs, Typography } from 'antd';
import { ClearOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError } from '../api';
import { useT } from '../i18n';
import { runApi, type Attempt, type TaskInstance } from './runApi';
import { canClear, formatCpu, formatDuration, formatKiB, formatTime, isTaskTerminal } from './states';
import { StateTag } from './StateTag';
import { TaskLog } from './TaskLog';

export interface TaskDrawerProps {
  // The instance as the run's task list last saw it (null: closed).
  row: TaskInstance | null;
  runState: string | undefined;
  onClose: () => void;
  // After a clear: the page refreshes the run and its tasks.
  onChanged: () => void;
  now: number;
}

function drawerWidth(): number {
  return typeof window === 'undefined' ? 760 : Math.max(360, Math.min(820, window.innerWidth - 64));
}

export function TaskDrawer({ row, runState, onClose, onChanged, now }: TaskDrawerProps) {
  const t = useT();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const id = row?.id ?? 0;
  // null: the latest try, following retries as they come.
  const [pinnedTry, setPinnedTry] = useState<number | null>(null);
  const [tab, setTab] = useState('log');
  useEffect(() => {
    setPinnedTry(null);
    setTab('log');
  }, [id]);

  const detail = useQuery({
    queryKey: ['runs', 'task', id],
    queryFn: () => runApi.task(id),
    enabled: id > 0,
    refetchInterval: (q) => (q.state.data && isTaskTerminal(q.state.data.state) ? false : 1000),
  });
  // The run's list sees a new state or try first (clear, retry): catch up at once.
  const { refetch } = detail;
  const seen = useRef('');
  const mark = `${id}:${row?.state ?? ''}:${row?.try_number ?? ''}`;
  useEffect(() => {
    const sameTask = seen.current.startsWith(`${id}:`);
    if (sameTask && seen.current !== mark && id > 0) void refetch();
    seen.current = mark;
  }, [id, mark, refetch]);

  const clear = useMutation({
    mutationFn: () => runApi.clear(id),
    onSuccess: () => {
      message.success(t('runs.task.cleared'));
      setPinnedTry(null);
      void qc.invalidateQueries({ queryKey: ['runs', 'task', id] });
      onChanged();
    },
    onError: (e: Error) => message.error(e.message),
  });

  const ti: TaskInstance | null = detail.data ?? row;
  const attempts: Attempt[] = detail.data?.attempts ?? [];
  const latestTry = ti?.try_number ?? 0;
  const logTry = pinnedTry ?? latestTry;
  const attemptDone = !!ti && (logTry < latestTry || isTaskTerminal(ti.state) || ti.state === 'up_for_retry');

  const attemptColumns = [
    { title: t('runs.col.try'), dataIndex: 'try', key: 'try', width: 56 },
    { title: t('runs.col.state'), dataIndex: 'state', key: 'state', render: (s: string) => <StateTag state={s} /> },
    { title: t('runs.col.exit_code'), dataIndex: 'exit_code', key: 'exit_code', render: (v: number | null) => v ?? '' },
    { title: t('runs.col.started'), dataIndex: 'started_at', key: 'started_at', render: (v: string | null) => formatTime(v) },
    {
      title: t('runs.col.duration'),
      key: 'duration',
      render: (_: unknown, a: Attempt) => formatDuration(a.started_at, a.finished_at, now),
    },
    { title: t('runs.col.peak_memory'), dataIndex: 'peak_rss_kb', key: 'peak', render: (v: number | null) => formatKiB(v) },
    { title: t('runs.col.cpu_time'), dataIndex: 'cpu_seconds', key: 'cpu', render: (v: number | null) => formatCpu(v) },
    {
      title: t('runs.col.reason'),
      dataIndex: 'reason',
      key: 'reason',
      ellipsis: true,
      render: (v: string) => <span title={v}>{v}</span>,
    },
  ];

  return (
    <Drawer
      open={!!row}
      onClose={onClose}
      width={drawerWidth()}
      destroyOnHidden
      title={
        ti ? (
          <Space>
            <span>{ti.task_key}</span>
            <StateTag state={ti.state} testId="task-state" />
          </Space>
        ) : null
      }
      extra={
        ti ? (
          <Popconfirm
            title={t('runs.task.clearConfirm')}
            description={t('runs.task.clearHelp')}
            okText={t('runs.task.clear')}
            cancelText={t('runs.cancel')}
            onConfirm={() => clear.mutate()}
            disabled={!canClear(ti.state, runState)}
          >
            <Button
              icon={<ClearOutlined />}
              loading={clear.isPending}
              disabled={!canClear(ti.state, runState)}
              data-testid="task-clear"
              title={t('runs.task.clearHelp')}
            >
              {t('runs.task.clear')}
            </Button>
          </Popconfirm>
        ) : null
      }
    >
      {ti && (
        <div data-testid="task-drawer" data-task={ti.task_key} data-state={ti.state}>
          {detail.error && (
            <Alert
              type="error"
              showIcon
              style={{ marginBottom: 12 }}
              message={detail.error instanceof ApiError ? detail.error.message : String(detail.error)}
            />
          )}
          <Descriptions
            size="small"
            column={{ xs: 2, sm: 3, md: 4 }}
            items={[
              { key: 'try', label: t('runs.col.try'), children: `${ti.try_number} / ${ti.max_tries}` },
              { key: 'exit', label: t('runs.col.exit_code'), children: <span data-testid="task-exit-code">{ti.exit_code ?? ''}</span> },
              { key: 'dur', label: t('runs.col.duration'), children: formatDuration(ti.started_at, ti.finished_at, now) },
              { key: 'peak', label: t('runs.col.peak_memory'), children: formatKiB(ti.peak_rss_kb) },
              { key: 'cpu', label: t('runs.col.cpu_time'), children: formatCpu(ti.cpu_seconds) },
              { key: 'start', label: t('runs.col.started'), children: formatTime(ti.started_at) },
              { key: 'end', label: t('runs.col.finished'), children: formatTime(ti.finished_at) },
              ...(detail.data?.next_retry_at
                ? [{ key: 'retry', label: t('runs.col.next_retry'), children: formatTime(detail.data.next_retry_at) }]
                : []),
            ]}
          />
          {ti.reason && (
            <Typography.Paragraph
              type={ti.state === 'failed' || ti.state === 'upstream_failed' ? 'danger' : 'secondary'}
              ellipsis={{ rows: 2, expandable: true, symbol: t('runs.more') }}
              style={{ marginTop: 4, marginBottom: 8, fontSize: 12 }}
              data-testid="task-reason"
            >
              {t('runs.col.reason')}: {ti.reason}
            </Typography.Paragraph>
          )}

          <Tabs
            size="small"
            activeKey={tab}
            onChange={setTab}
            items={[
              {
                key: 'log',
                label: t('runs.task.log'),
                children: (
                  <>
                    {attempts.length > 1 && (
                      <Segmented
                        size="small"
                        style={{ marginBottom: 8 }}
                        value={logTry}
                        onChange={(v) => setPinnedTry(Number(v) === latestTry ? null : Number(v))}
                        options={attempts.map((a) => ({ value: a.try, label: t('runs.task.tryN', { n: a.try }) }))}
                      />
                    )}
                    {logTry > 0 ? (
                      <TaskLog
                        key={`${ti.id}:${logTry}`}
                        taskInstanceId={ti.id}
                        tryNumber={logTry}
                        attemptDone={attemptDone}
                        height={`max(240px, calc(100vh - ${attempts.length > 1 ? 380 : 340}px))`}
                      />
                    ) : (
                      <Alert type="info" showIcon message={t('runs.task.notStarted')} />
                    )}
                  </>
                ),
              },
              {
                key: 'attempts',
                label: `${t('runs.task.attempts')} (${attempts.length})`,
                children: detail.isLoading ? (
                  <Spin />
                ) : (
                  <Table<Attempt>
                    size="small"
                    rowKey="try"
                    columns={attemptColumns}
                    dataSource={attempts}
                    pagination={false}
                    scroll={{ x: 'max-content' }}
                    locale={{ emptyText: t('runs.task.noAttempts') }}
                    onRow={(a) => ({
                      onClick: () => {
                        setPinnedTry(a.try === latestTry ? null : a.try);
                        setTab('log');
                      },
                      style: { cursor: 'pointer' },
                      title: t('runs.task.showLogOf', { n: a.try }),
                    })}
                    rowClassName={(a) => (a.try === logTry ? 'ant-table-row-selected' : '')}
                  />
                ),
              },
            ]}
          />
        </div>
      )}
    </Drawer>
  );
}
