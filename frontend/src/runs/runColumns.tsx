// What the run lists (all runs, one pipeline's, cron history) share on top of the generic
// list: cells of their own for a run's columns, the stop / re-run row actions, and the
// "is anything live" probe that decides how often the list refreshes.
import { useEffect, useMemo, useRef, type ReactNode } from 'react';
import { Link } from 'react-router';
import { App, Button, Popconfirm, Space, Tag, Tooltip, Typography } from 'antd';
import { RedoOutlined, StopOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { resource, type Filter, type Row } from '../api';
import { useT } from '../i18n';
import { HISTORY_VIEW, RUN_VIEW, runApi } from './runApi';
import { canRerun, canStop, formatDuration, formatTime, isRunTerminal, LIVE_RUN_STATES, stateLook } from './states';
import { StateTag, useStateLabel } from './StateTag';

// Task states in the order a reader scans them: what is wrong first, then what is moving.
const TASK_STATE_ORDER = [
  'failed',
  'upstream_failed',
  'up_for_retry',
  'running',
  'submitting',
  'scheduled',
  'pending',
  'succeeded',
  'skipped',
  'cancelled',
];

function TaskCounts({ value }: { value: unknown }) {
  const label = useStateLabel();
  if (!value || typeof value !== 'object') return null;
  const counts = value as Record<string, number>;
  const states = Object.keys(counts).sort(
    (a, b) => (TASK_STATE_ORDER.indexOf(a) + 100) % 100 - ((TASK_STATE_ORDER.indexOf(b) + 100) % 100),
  );
  return (
    <Space size={2} wrap data-testid="run-task-counts">
      {states.map((s) => (
        <Tag key={s} color={stateLook(s).tag} style={{ marginInlineEnd: 0 }} data-state={s}>
          {label(s)} {counts[s]}
        </Tag>
      ))}
    </Space>
  );
}

export function useRunColumnRender(): Record<string, (value: unknown, row: Row) => ReactNode> {
  const t = useT();
  return useMemo(
    () => ({
      id: (v) => <Link to={`/runs/${String(v)}`}>#{String(v)}</Link>,
      state: (v) => <StateTag state={v} testId="run-state" />,
      trigger: (v) => (typeof v === 'string' && v ? t(`runs.trigger.${v}`) : ''),
      tasks: (v) => <TaskCounts value={v} />,
      finished_at: (v, row) =>
        v ? (
          <span style={{ whiteSpace: 'nowrap' }}>
            {formatTime(v)}{' '}
            <Typography.Text type="secondary">({formatDuration(row.started_at, v)})</Typography.Text>
          </span>
        ) : row.started_at && !isRunTerminal(row.state) ? (
          <Typography.Text type="secondary" style={{ whiteSpace: 'nowrap' }}>
            {formatDuration(row.started_at, null)}…
          </Typography.Text>
        ) : (
          ''
        ),
    }),
    [t],
  );
}

// The view's single-row actions that RunRowActions replaces: a list showing RunRowActions passes
// this as ResourceList's hideActions, so a row does not offer "Stop" twice.
export const RUN_ROW_HIDDEN_ACTIONS = ['stop'];

// Stop and re-run, enabled only in the states the scheduler accepts them in.
export function RunRowActions({ row }: { row: Row }) {
  const t = useT();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const id = row.id as number;
  const done = () => {
    void qc.invalidateQueries({ queryKey: ['list', RUN_VIEW] });
    void qc.invalidateQueries({ queryKey: ['list', HISTORY_VIEW] });
    void qc.invalidateQueries({ queryKey: ['runs', 'live-probe'] });
  };
  const stop = useMutation({
    mutationFn: () => runApi.stop(id),
    onSuccess: () => {
      message.success(t('runs.stopped'));
      done();
    },
    onError: (e: Error) => message.error(e.message),
  });
  const rerun = useMutation({
    mutationFn: () => runApi.rerun(id),
    onSuccess: () => {
      message.success(t('runs.rerunStarted'));
      done();
    },
    onError: (e: Error) => message.error(e.message),
  });
  return (
    <>
      <Popconfirm
        title={t('runs.stopConfirm')}
        okText={t('runs.stop')}
        okButtonProps={{ danger: true }}
        cancelText={t('runs.cancel')}
        onConfirm={() => stop.mutate()}
        disabled={!canStop(row.state)}
      >
        <Tooltip title={t('runs.stop')}>
          <Button
            type="link"
            size="small"
            danger
            icon={<StopOutlined />}
            disabled={!canStop(row.state)}
            loading={stop.isPending}
            aria-label={t('runs.stop')}
            data-testid="run-stop"
          />
        </Tooltip>
      </Popconfirm>
      <Tooltip title={t('runs.rerunHelp')}>
        <Button
          type="link"
          size="small"
          icon={<RedoOutlined />}
          disabled={!canRerun(row.state)}
          loading={rerun.isPending}
          onClick={() => rerun.mutate()}
          aria-label={t('runs.rerun')}
          data-testid="run-rerun"
        />
      </Tooltip>
    </>
  );
}

// Whether any run of the list (its fixed filters) is queued, running or cancelling. Cheap (a
// count), so it keeps asking slowly when nothing is live, to notice a run started elsewhere.
// When the last live run ends the list is read once more, to show how it ended.
export function useAnyRunLive(view: string, fixedFilters: Filter[] | undefined): boolean {
  const qc = useQueryClient();
  const probe = useQuery({
    queryKey: ['runs', 'live-probe', view, fixedFilters ?? []],
    queryFn: () =>
      resource.list(view, {
        filters: [...(fixedFilters ?? []), { col: 'state', opr: 'in', value: LIVE_RUN_STATES }],
        columns: ['id'],
        page_size: 1,
      }),
    refetchInterval: (q) => ((q.state.data?.count ?? 0) > 0 ? 3000 : 15000),
  });
  const live = (probe.data?.count ?? 0) > 0;
  const was = useRef(live);
  useEffect(() => {
    if (was.current && !live) void qc.invalidateQueries({ queryKey: ['list', view] });
    was.current = live;
  }, [live, qc, view]);
  return live;
}
