// /notifications — the caller's notifications (run state changes), newest first, unread in
// bold. Marking read is the view's "read" action (GET action/read/<id>, or POST
// multi_action/read for all); the bell in the header counts from ['unread'], so that query is
// invalidated after every change.
import { useState } from 'react';
import { Alert, App, Button, Empty, List, Popconfirm, Segmented, Space, Tag, Typography } from 'antd';
import { CheckOutlined, DeleteOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { resource, type Filter } from '../api';
import { useT } from '../i18n';
import { CellValue } from '../generic/CellValue';

const VIEW = 'notification_modelview';
const PAGE_SIZE = 20;

interface Notification {
  id: number;
  title: string;
  body: string;
  run_id: number | null;
  read: boolean;
  created_on: string;
}

export default function Notifications() {
  const t = useT();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const [params, setParams] = useSearchParams();
  const unreadOnly = params.get('unread') === '1';
  const page = Math.max(0, (Number(params.get('page')) || 1) - 1);
  const [busy, setBusy] = useState<number | 'all' | null>(null);
  const filters: Filter[] = unreadOnly ? [{ col: 'read', opr: 'eq', value: false }] : [];

  const list = useQuery({
    queryKey: ['list', VIEW, 'page', unreadOnly, page],
    queryFn: ({ signal }) => resource.list<Notification>(VIEW, { filters, page, page_size: PAGE_SIZE }, signal),
    placeholderData: (prev) => prev,
    refetchInterval: 30_000,
  });

  const refresh = () =>
    Promise.all([qc.invalidateQueries({ queryKey: ['list', VIEW] }), qc.invalidateQueries({ queryKey: ['unread'] })]);

  async function markRead(n: Notification) {
    setBusy(n.id);
    try {
      await resource.action(VIEW, 'read', n.id);
      await refresh();
    } catch (e) {
      message.error(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(null);
    }
  }

  async function markAllRead() {
    setBusy('all');
    try {
      // The ids of every unread one (the action takes ids; the server keeps only the caller's).
      const unread = await resource.list<{ id: number }>(VIEW, {
        filters: [{ col: 'read', opr: 'eq', value: false }],
        page_size: 2000,
        columns: ['id'],
      });
      if (unread.data.length) await resource.multiAction(VIEW, 'read', unread.data.map((n) => n.id));
      message.success(t('generic.notifications.allRead'));
      await refresh();
    } catch (e) {
      message.error(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(null);
    }
  }

  async function remove(n: Notification) {
    try {
      await resource.remove(VIEW, n.id);
      await refresh();
    } catch (e) {
      message.error(e instanceof Error ? e.message : String(e));
    }
  }

  const set = (unread: boolean, p = 0) => {
    const n = new URLSearchParams();
    if (unread) n.set('unread', '1');
    if (p > 0) n.set('page', String(p + 1));
    setParams(n, { replace: true });
  };

  return (
    <div data-testid="notifications-page">
      <div style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center', flexWrap: 'wrap', gap: 12, marginBottom: 16 }}>
        <Typography.Title level={4} style={{ margin: 0 }}>
          {t('generic.notifications.title')}
        </Typography.Title>
        <Space wrap>
          <Segmented
            value={unreadOnly ? 'unread' : 'all'}
            onChange={(v) => set(v === 'unread')}
            options={[
              { value: 'all', label: t('generic.notifications.all') },
              { value: 'unread', label: t('generic.notifications.unread') },
            ]}
            data-testid="notifications-filter"
          />
          <Button icon={<CheckOutlined />} onClick={() => void markAllRead()} loading={busy === 'all'} data-testid="notifications-read-all">
            {t('generic.notifications.markAll')}
          </Button>
        </Space>
      </div>
      {list.isError && <Alert type="error" showIcon role="alert" message={list.error.message} style={{ marginBottom: 12 }} />}
      <List<Notification>
        bordered
        style={{ background: '#fff' }}
        loading={list.isLoading}
        dataSource={list.data?.data ?? []}
        locale={{
          emptyText: (
            <Empty
              image={Empty.PRESENTED_IMAGE_SIMPLE}
              description={unreadOnly ? t('generic.notifications.noneUnread') : t('generic.notifications.none')}
            />
          ),
        }}
        pagination={
          (list.data?.count ?? 0) > PAGE_SIZE
            ? { current: page + 1, pageSize: PAGE_SIZE, total: list.data?.count ?? 0, onChange: (p) => set(unreadOnly, p - 1), showSizeChanger: false }
            : false
        }
        renderItem={(n) => (
          <List.Item
            key={n.id}
            data-testid="notification"
            data-read={n.read ? 'true' : 'false'}
            style={{ background: n.read ? undefined : '#f0f7ff', paddingInline: 24 }}
            actions={[
              !n.read && (
                <Button
                  key="read"
                  size="small"
                  type="link"
                  icon={<CheckOutlined />}
                  loading={busy === n.id}
                  onClick={() => void markRead(n)}
                  data-testid="notification-read"
                >
                  {t('generic.notifications.markRead')}
                </Button>
              ),
              <Popconfirm
                key="delete"
                title={t('generic.deleteConfirm')}
                okText={t('generic.delete')}
                okButtonProps={{ danger: true }}
                cancelText={t('generic.cancel')}
                onConfirm={() => remove(n)}
              >
                <Button size="small" type="link" danger icon={<DeleteOutlined />} aria-label={t('generic.delete')} />
              </Popconfirm>,
            ].filter(Boolean)}
          >
            <List.Item.Meta
              title={
                <Space wrap size={8}>
                  {!n.read && <Tag color="blue">{t('generic.notifications.new')}</Tag>}
                  {n.run_id ? (
                    <Link
                      to={`/runs/${n.run_id}`}
                      style={{ fontWeight: n.read ? 400 : 600 }}
                      // Opening the run is reading the notification.
                      onClick={() => {
                        if (!n.read) void resource.action(VIEW, 'read', n.id).then(refresh, () => undefined);
                      }}
                    >
                      {n.title}
                    </Link>
                  ) : (
                    <span style={{ fontWeight: n.read ? 400 : 600 }}>{n.title}</span>
                  )}
                </Space>
              }
              description={
                <Space direction="vertical" size={2}>
                  {n.body && <span style={{ color: 'rgba(0,0,0,0.75)' }}>{n.body}</span>}
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    <CellValue value={n.created_on} />
                  </Typography.Text>
                </Space>
              }
            />
          </List.Item>
        )}
      />
    </div>
  );
}
