// /webhooks — the generic list of webhooks, plus a drawer with a webhook's delivery log
// (GET /api/webhook_modelview/<id>/deliveries: the last 200 attempts, newest first).
import { useState } from 'react';
import { Alert, Button, Drawer, Table, Tag, Tooltip } from 'antd';
import { HistoryOutlined, ReloadOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { request, type Row } from '../api';
import { useT } from '../i18n';
import { CellValue } from '../generic/CellValue';
import { plainText } from '../generic/format';
import ResourceList from '../generic/ResourceList';

const VIEW = 'webhook_modelview';

interface Delivery {
  id: number;
  outbox_id: number;
  attempts: number;
  status: number | null; // the last HTTP status; null: no answer
  error: string;
  delivered: boolean;
  next_attempt_at: string;
  changed_on: string;
}

function Deliveries({ hook, onClose }: { hook: Row | null; onClose: () => void }) {
  const t = useT();
  const q = useQuery({
    queryKey: ['webhook-deliveries', hook?.id],
    queryFn: () => request<Delivery[]>(`/api/${VIEW}/${String(hook?.id)}/deliveries`),
    enabled: !!hook,
    refetchInterval: 10_000,
  });
  return (
    <Drawer
      open={!!hook}
      onClose={onClose}
      width={Math.min(860, typeof window !== 'undefined' ? window.innerWidth - 48 : 860)}
      title={t('generic.webhooks.deliveriesOf', { name: plainText(hook?.name) || plainText(hook?.url) || `#${String(hook?.id ?? '')}` })}
      extra={
        <Button icon={<ReloadOutlined />} onClick={() => void q.refetch()} loading={q.isFetching}>
          {t('generic.refresh')}
        </Button>
      }
      destroyOnHidden
      data-testid="webhook-deliveries"
    >
      {q.isError ? (
        <Alert type="error" showIcon role="alert" message={q.error.message} />
      ) : (
        <Table<Delivery>
          size="small"
          rowKey="id"
          loading={q.isLoading}
          dataSource={q.data ?? []}
          pagination={{ pageSize: 20, size: 'small', hideOnSinglePage: true }}
          locale={{ emptyText: t('generic.webhooks.noDeliveries') }}
          scroll={{ x: 'max-content' }}
          columns={[
            { key: 'id', dataIndex: 'id', title: 'ID' },
            { key: 'outbox', dataIndex: 'outbox_id', title: t('generic.webhooks.event') },
            {
              key: 'state',
              title: t('generic.webhooks.state'),
              render: (_: unknown, d: Delivery) =>
                d.delivered ? (
                  <Tag color="green">{t('generic.webhooks.delivered')}</Tag>
                ) : d.attempts > 0 ? (
                  <Tag color="orange">{t('generic.webhooks.retrying')}</Tag>
                ) : (
                  <Tag>{t('generic.webhooks.pending')}</Tag>
                ),
            },
            {
              key: 'status',
              dataIndex: 'status',
              title: t('generic.webhooks.httpStatus'),
              render: (s: number | null) =>
                s === null ? <CellValue value={null} /> : <Tag color={s >= 200 && s < 300 ? 'green' : 'red'}>{s}</Tag>,
            },
            { key: 'attempts', dataIndex: 'attempts', title: t('generic.webhooks.attempts') },
            {
              key: 'error',
              dataIndex: 'error',
              title: t('generic.webhooks.error'),
              render: (e: string) => <CellValue value={e} max={50} />,
            },
            {
              key: 'next',
              dataIndex: 'next_attempt_at',
              title: t('generic.webhooks.next'),
              render: (v: string, d: Delivery) => (d.delivered ? <CellValue value={null} /> : <CellValue value={v} />),
            },
            { key: 'changed', dataIndex: 'changed_on', title: t('generic.webhooks.changed'), render: (v: string) => <CellValue value={v} /> },
          ]}
        />
      )}
    </Drawer>
  );
}

export default function Webhooks() {
  const t = useT();
  const [open, setOpen] = useState<Row | null>(null);
  return (
    <div data-testid="webhooks-page">
      <ResourceList
        view={VIEW}
        rowActions={(row) => (
          <Tooltip title={t('generic.webhooks.deliveries')}>
            <Button
              type="link"
              size="small"
              icon={<HistoryOutlined />}
              aria-label={t('generic.webhooks.deliveries')}
              onClick={() => setOpen(row)}
              data-testid="webhook-deliveries-open"
            />
          </Tooltip>
        )}
      />
      <Deliveries hook={open} onClose={() => setOpen(null)} />
    </div>
  );
}
