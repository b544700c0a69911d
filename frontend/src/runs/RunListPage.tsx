// /runs — every run the user may see, newest first; /runs?pipeline=<id> — one pipeline's runs.
// The generic list over workflow_modelview, with states as coloured tags, stop / re-run on
// each row, and a refresh every few seconds while any run of the list is live.
import { useMemo } from 'react';
import { Link, useSearchParams } from 'react-router';
import { Button, Space, Typography } from 'antd';
import { SyncOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { resource, type Filter, type Row } from '../api';
import ResourceList from '../generic/ResourceList';
import { useT } from '../i18n';
import { RUN_VIEW } from './runApi';
import { RUN_ROW_HIDDEN_ACTIONS, RunRowActions, useAnyRunLive, useRunColumnRender } from './runColumns';

// The execution date of a run is its queue time (or its tick, shown as such): one time column is
// enough. A pipeline's own list does not repeat the pipeline on every row.
const HIDE = ['execution_date', 'queued_at'];
const HIDE_FOR_PIPELINE = ['pipeline', ...HIDE];
const rowLink = (row: Row) => `/runs/${String(row.id)}`;
const rowActions = (row: Row) => <RunRowActions row={row} />;

export default function RunListPage() {
  const t = useT();
  const [sp] = useSearchParams();
  const pipelineParam = sp.get('pipeline');
  const pipelineId = pipelineParam && /^\d+$/.test(pipelineParam) ? Number(pipelineParam) : null;

  const fixedFilters: Filter[] | undefined = useMemo(
    () => (pipelineId ? [{ col: 'pipeline', opr: 'rel_o_m', value: pipelineId }] : undefined),
    [pipelineId],
  );
  const pipeline = useQuery({
    queryKey: ['row', 'pipeline_modelview', String(pipelineId)],
    queryFn: () => resource.show<{ id: number; name: string }>('pipeline_modelview', pipelineId as number),
    enabled: pipelineId !== null,
  });
  const live = useAnyRunLive(RUN_VIEW, fixedFilters);
  const columnRender = useRunColumnRender();

  const title = pipelineId ? (
    <Space wrap>
      <span>{t('runs.titleFor', { name: pipeline.data?.name ?? `#${pipelineId}` })}</span>
      <Link to={`/pipelines/${pipelineId}`} style={{ fontSize: 14, fontWeight: 'normal' }}>
        {t('runs.openPipeline')}
      </Link>
    </Space>
  ) : (
    t('runs.title')
  );

  return (
    <ResourceList
      view={RUN_VIEW}
      title={title}
      fixedFilters={fixedFilters}
      rowLink={rowLink}
      rowActions={rowActions}
      columnRender={columnRender}
      hideColumns={pipelineId ? HIDE_FOR_PIPELINE : HIDE}
      refetchInterval={live ? 3000 : undefined}
      hideCreate
      hideActions={RUN_ROW_HIDDEN_ACTIONS}
      toolbarExtra={
        <Space>
          {live && (
            <Typography.Text type="secondary" data-testid="runs-live">
              <SyncOutlined spin /> {t('runs.liveNote')}
            </Typography.Text>
          )}
          {pipelineId !== null && (
            <Link to="/runs">
              <Button tabIndex={-1}>{t('runs.allRuns')}</Button>
            </Link>
          )}
        </Space>
      }
      data-testid="run-list"
    />
  );
}
