// /run-history — the runs made by cron ticks and backfills (runhistory_modelview, newest tick
// first), and "Backfill": one run per cron tick of a pipeline in a time range
// (POST /api/pipeline_modelview/<id>/backfill {"start", "end"} → {"created", "existing"}).
import { useState } from 'react';
import { Alert, App, Button, DatePicker, Form, Modal, Space, Typography, type GetProps } from 'antd';
import { HistoryOutlined, SyncOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { resource, type Filter, type Row } from '../api';
import ResourceList from '../generic/ResourceList';
import { RelatedSelect } from '../generic/RelatedSelect';
import { useT } from '../i18n';
import { HISTORY_VIEW, RUN_VIEW, runApi } from './runApi';
import { RUN_ROW_HIDDEN_ACTIONS, RunRowActions, useAnyRunLive, useRunColumnRender } from './runColumns';

type RangeValue = NonNullable<GetProps<typeof DatePicker.RangePicker>['value']>;

interface BackfillForm {
  pipeline?: number;
  range?: RangeValue;
}

const rowLink = (row: Row) => `/runs/${String(row.id)}`;
const rowActions = (row: Row) => <RunRowActions row={row} />;
// Only pipelines with a cron expression have ticks to backfill.
const withCron: Filter[] = [{ col: 'cron_time', opr: 'neq', value: '' }];

interface PipelineSchedule {
  id: number;
  name: string;
  cron_time?: string;
  timezone?: string;
  schedule_type?: string;
}

function BackfillModal({ open, onClose }: { open: boolean; onClose: () => void }) {
  const t = useT();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const [form] = Form.useForm<BackfillForm>();
  const pipelineId = Form.useWatch('pipeline', form);
  const [result, setResult] = useState<{ created: number; existing: number } | null>(null);

  const schedule = useQuery({
    queryKey: ['row', 'pipeline_modelview', String(pipelineId)],
    queryFn: () => resource.show<PipelineSchedule>('pipeline_modelview', pipelineId as number),
    enabled: typeof pipelineId === 'number',
  });

  const backfill = useMutation({
    mutationFn: (v: { pipeline: number; start: string; end: string }) => runApi.backfill(v.pipeline, v.start, v.end),
    onSuccess: (r) => {
      setResult(r);
      message.success(t('runs.backfill.result', { created: r.created, existing: r.existing }));
      void qc.invalidateQueries({ queryKey: ['list', HISTORY_VIEW] });
      void qc.invalidateQueries({ queryKey: ['list', RUN_VIEW] });
      void qc.invalidateQueries({ queryKey: ['runs', 'live-probe'] });
    },
  });

  const submit = (v: BackfillForm) => {
    if (!v.pipeline || !v.range?.[0] || !v.range?.[1]) return;
    setResult(null);
    backfill.mutate({ pipeline: v.pipeline, start: v.range[0].toISOString(), end: v.range[1].toISOString() });
  };

  const close = () => {
    form.resetFields();
    setResult(null);
    backfill.reset();
    onClose();
  };

  return (
    <Modal
      open={open}
      title={t('runs.backfill.title')}
      onCancel={close}
      destroyOnHidden
      footer={
        <Space>
          <Button onClick={close}>{result ? t('runs.close') : t('runs.cancel')}</Button>
          <Button type="primary" htmlType="submit" form="backfill-form" loading={backfill.isPending} data-testid="backfill-submit">
            {t('runs.backfill.submit')}
          </Button>
        </Space>
      }
    >
      <Typography.Paragraph type="secondary">{t('runs.backfill.help')}</Typography.Paragraph>
      <Form<BackfillForm> id="backfill-form" name="backfill" form={form} layout="vertical" onFinish={submit} requiredMark>
        <Form.Item
          name="pipeline"
          label={t('runs.backfill.pipeline')}
          rules={[{ required: true, message: t('runs.backfill.required') }]}
          extra={
            schedule.data ? (
              <span data-testid="backfill-schedule">
                {t('runs.backfill.schedule', {
                  cron: schedule.data.cron_time || t('runs.backfill.noCron'),
                  tz: schedule.data.timezone || 'UTC',
                })}
              </span>
            ) : undefined
          }
        >
          <RelatedSelect
            view="pipeline_modelview"
            display="name"
            filters={withCron}
            placeholder={t('runs.backfill.pipelinePlaceholder')}
            aria-label={t('runs.backfill.pipeline')}
            data-testid="backfill-pipeline"
          />
        </Form.Item>
        <Form.Item
          name="range"
          label={t('runs.backfill.range')}
          extra={t('runs.backfill.timezone')}
          rules={[
            { required: true, message: t('runs.backfill.required') },
            {
              validator: (_, v: RangeValue | undefined) =>
                v?.[0] && v?.[1] && !v[1].isAfter(v[0]) ? Promise.reject(new Error(t('runs.backfill.order'))) : Promise.resolve(),
            },
          ]}
        >
          <DatePicker.RangePicker
            showTime={{ format: 'HH:mm' }}
            format="YYYY-MM-DD HH:mm"
            style={{ width: '100%' }}
            placeholder={[t('runs.backfill.start'), t('runs.backfill.end')]}
            data-testid="backfill-range"
          />
        </Form.Item>
      </Form>
      {backfill.error && <Alert type="error" showIcon message={backfill.error.message} role="alert" />}
      {result && (
        <Alert
          type={result.created > 0 ? 'success' : 'info'}
          showIcon
          data-testid="backfill-result"
          message={t('runs.backfill.result', { created: result.created, existing: result.existing })}
        />
      )}
    </Modal>
  );
}

export default function RunHistoryPage() {
  const t = useT();
  const [open, setOpen] = useState(false);
  const live = useAnyRunLive(HISTORY_VIEW, undefined);
  const columnRender = useRunColumnRender();
  return (
    <>
      <ResourceList
        view={HISTORY_VIEW}
        title={
          <Space direction="vertical" size={0}>
            <span>{t('runs.historyTitle')}</span>
            <Typography.Text type="secondary" style={{ fontSize: 13, fontWeight: 'normal' }}>
              {t('runs.historyHelp')}
            </Typography.Text>
          </Space>
        }
        rowLink={rowLink}
        rowActions={rowActions}
        hideActions={RUN_ROW_HIDDEN_ACTIONS}
        columnRender={columnRender}
        hideColumns={['execution_date', 'queued_at']}
        refetchInterval={live ? 3000 : undefined}
        hideCreate
        toolbarExtra={
          <Space>
            {live && (
              <Typography.Text type="secondary">
                <SyncOutlined spin /> {t('runs.liveNote')}
              </Typography.Text>
            )}
            <Button type="primary" icon={<HistoryOutlined />} onClick={() => setOpen(true)} data-testid="backfill-open">
              {t('runs.backfill.open')}
            </Button>
          </Space>
        }
        data-testid="run-history"
      />
      <BackfillModal open={open} onClose={() => setOpen(false)} />
    </>
  );
}
