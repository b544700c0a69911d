// /r/:view/:id — one record: its show_columns with their labels, edit / delete / actions as
// the caller may, and the lists of rows that point at it (a project's members, pipelines,
// webhooks...), found from the other views' _info: a Related field naming this view's table.
import { useState } from 'react';
import { Alert, App, Breadcrumb, Button, Card, Descriptions, Popconfirm, Skeleton, Space, Table, Tabs, Typography } from 'antd';
import { DeleteOutlined, EditOutlined } from '@ant-design/icons';
import { useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from 'react-router';
import { resource, type ActionInfo, type ResourceInfo, type Row } from '../api';
import { useT } from '../i18n';
import { routeForView } from '../routes';
import { CellValue } from './CellValue';
import { LinkButton } from './LinkButton';
import type { FieldInfo } from './fieldSpec';
import { isRelationList, plainText } from './format';
import { infoKey, rowKey, useInfo, useViews } from './related';
import ResourceList, { primaryColumn } from './ResourceList';

const isPlainObject = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);

// A list of objects inside a record (not relations) as a small table of its keys.
function NestedTable({ items }: { items: Record<string, unknown>[] }) {
  const keys = [...new Set(items.flatMap((o) => Object.keys(o)))];
  return (
    <Table
      size="small"
      pagination={items.length > 10 ? { pageSize: 10, size: 'small' } : false}
      rowKey={(_, i) => String(i)}
      dataSource={items}
      columns={keys.map((k) => ({ key: k, dataIndex: k, title: k, render: (v: unknown) => <CellValue value={v} /> }))}
      scroll={{ x: 'max-content' }}
    />
  );
}

function ShowValue({ value }: { value: unknown }) {
  if (Array.isArray(value) && value.length && value.every(isPlainObject) && !isRelationList(value))
    return <NestedTable items={value} />;
  return <CellValue value={value} full />;
}

interface ChildList {
  view: string;
  col: string;
  title: string;
}

function RelatedLists({ view, id, info }: { view: string; id: string; info: ResourceInfo }) {
  const t = useT();
  const views = useViews();
  const others = (views.data ?? []).filter((v) => v !== view);
  const infos = useQueries({
    queries: others.map((v) => ({
      queryKey: infoKey(v),
      queryFn: () => resource.info(v),
      staleTime: 10 * 60_000,
    })),
  });
  const model = (info as ResourceInfo & { model_name?: string }).model_name;
  // Cheap enough to work out on every render: a dozen small objects.
  const children: ChildList[] = [];
  if (model)
    infos.forEach((q, i) => {
      const inf = q.data;
      if (!inf?.user_permissions.list) return;
      const cols = [...inf.add_columns, ...inf.edit_columns] as FieldInfo[];
      const seen = new Set<string>();
      for (const c of cols) {
        if (c.related !== model || seen.has(c.name)) continue;
        seen.add(c.name);
        if (!inf.filters[c.name]?.filter.some((o) => o.operator === 'rel_o_m')) continue;
        children.push({ view: others[i], col: c.name, title: inf.list_title });
      }
    });

  if (!children.length) return null;
  return (
    <Card title={t('generic.relatedRecords')} style={{ marginTop: 16 }} data-testid="related-lists">
      <Tabs
        items={children.map((c) => ({
          key: `${c.view}:${c.col}`,
          label: c.title,
          children: (
            <ResourceList
              view={c.view}
              compact
              fixedFilters={[{ col: c.col, opr: 'rel_o_m', value: Number(id) }]}
              hideColumns={[c.col]}
              data-testid={`related-${c.view}`}
            />
          ),
        }))}
      />
    </Card>
  );
}

export default function ShowPage() {
  const { view = '', id = '' } = useParams();
  const t = useT();
  const nav = useNavigate();
  const qc = useQueryClient();
  const { message, modal } = App.useApp();
  const info = useInfo(view);
  const row = useQuery({ queryKey: rowKey(view, id), queryFn: () => resource.show(view, id) });
  const [busy, setBusy] = useState(false);

  const inf = info.data;
  const err = info.error ?? row.error;
  const name = inf && row.data ? plainText(row.data[primaryColumn(inf.show_columns) ?? 'id']) : '';

  async function remove() {
    try {
      await resource.remove(view, id);
      message.success(t('generic.deleted'));
      await qc.invalidateQueries({ queryKey: ['list', view] });
      nav(routeForView(view));
    } catch (e) {
      message.error(e instanceof Error ? e.message : String(e));
    }
  }

  function runAction(a: ActionInfo) {
    const go = async () => {
      setBusy(true);
      try {
        await resource.action(view, a.name, id);
        message.success(t('generic.action.done', { action: a.text }));
        await Promise.all([qc.invalidateQueries({ queryKey: rowKey(view, id) }), qc.invalidateQueries({ queryKey: ['list', view] })]);
      } catch (e) {
        message.error(e instanceof Error ? e.message : String(e));
      } finally {
        setBusy(false);
      }
    };
    if (a.confirmation) modal.confirm({ title: a.text, content: a.confirmation, onOk: go });
    else void go();
  }

  const actions = inf ? Object.values(inf.action ?? {}).filter((a) => a.single) : [];
  const canEdit = !!inf?.user_permissions.edit && (inf?.edit_columns.length ?? 0) > 0;

  return (
    <div data-testid="show-page">
      <Breadcrumb
        style={{ marginBottom: 12 }}
        items={[{ title: <Link to={routeForView(view)}>{inf?.list_title ?? view}</Link> }, { title: name || `#${id}` }]}
      />
      <Card
        title={
          <Typography.Title level={4} style={{ margin: 0 }}>
            {inf?.show_title ?? ''}
            {name ? `: ${name}` : ''}
          </Typography.Title>
        }
        extra={
          inf &&
          row.data && (
            <Space wrap>
              {actions.map((a) => (
                <Button key={a.name} onClick={() => runAction(a)} loading={busy} data-testid={`show-action-${a.name}`}>
                  {a.text}
                </Button>
              ))}
              {canEdit && (
                <LinkButton to={`/r/${view}/${id}/edit`} type="primary" icon={<EditOutlined />} data-testid="show-edit">
                  {t('generic.edit')}
                </LinkButton>
              )}
              {inf.user_permissions.delete && (
                <Popconfirm
                  title={t('generic.deleteConfirm')}
                  okText={t('generic.delete')}
                  okButtonProps={{ danger: true }}
                  cancelText={t('generic.cancel')}
                  onConfirm={remove}
                >
                  <Button danger icon={<DeleteOutlined />} data-testid="show-delete">
                    {t('generic.delete')}
                  </Button>
                </Popconfirm>
              )}
            </Space>
          )
        }
      >
        {err ? (
          <Alert type="error" showIcon role="alert" message={t('generic.loadFailed')} description={err.message} />
        ) : !inf || !row.data ? (
          <Skeleton active />
        ) : (
          <Descriptions
            bordered
            size="small"
            column={1}
            styles={{ label: { width: 200, verticalAlign: 'top' } }}
            items={inf.show_columns.map((c) => ({
              key: c,
              label: inf.label_columns[c] ?? c,
              children: <ShowValue value={(row.data as Row)[c]} />,
            }))}
          />
        )}
      </Card>
      {inf && row.data && <RelatedLists view={view} id={id} info={inf} />}
    </div>
  );
}
