// /r/:view/new and /r/:view/:id/edit — the generated create and edit forms. A new record's
// fields can be preset from the query string (/r/project_user_modelview/new?project=3).
import { useMemo } from 'react';
import { Alert, Breadcrumb, Card, Skeleton } from 'antd';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { resource, type Row } from '../api';
import { useT } from '../i18n';
import { routeForView } from '../routes';
import ResourceForm from './ResourceForm';
import { rowKey, useInfo } from './related';
import { useUnsavedGuard } from './useUnsavedGuard';

export default function EditPage() {
  const { view = '', id } = useParams();
  const t = useT();
  const nav = useNavigate();
  const qc = useQueryClient();
  const [params] = useSearchParams();
  const mode = id ? 'edit' : 'add';
  const info = useInfo(view);
  const row = useQuery({
    queryKey: rowKey(view, id ?? ''),
    queryFn: () => resource.show(view, id as string),
    enabled: mode === 'edit',
  });
  const { setDirty } = useUnsavedGuard();

  const fields = mode === 'add' ? info.data?.add_columns : info.data?.edit_columns;
  const preset = useMemo(() => {
    if (mode !== 'add' || !fields) return undefined;
    const p: Row = {};
    for (const f of fields) {
      const v = params.get(f.name);
      if (v !== null) p[f.name] = v;
    }
    return p;
  }, [mode, fields, params]);

  async function submit(body: Row) {
    if (mode === 'add') {
      const created = await resource.create(view, body);
      setDirty(false);
      await qc.invalidateQueries({ queryKey: ['list', view] });
      nav(`/r/${view}/${String(created.id)}`);
    } else {
      await resource.update(view, id as string, body);
      setDirty(false);
      await Promise.all([
        qc.invalidateQueries({ queryKey: ['list', view] }),
        qc.invalidateQueries({ queryKey: rowKey(view, id as string) }),
      ]);
      nav(`/r/${view}/${id}`);
    }
  }

  const err = info.error ?? row.error;
  const title = mode === 'add' ? info.data?.add_title : info.data?.edit_title;
  const listTitle = info.data?.list_title ?? view;

  return (
    <div data-testid="edit-page">
      <Breadcrumb
        style={{ marginBottom: 12 }}
        items={[
          { title: <Link to={routeForView(view)}>{listTitle}</Link> },
          ...(mode === 'edit' ? [{ title: <Link to={`/r/${view}/${id}`}>#{id}</Link> }] : []),
          { title: title ?? '…' },
        ]}
      />
      <Card title={title} variant="outlined">
        {err ? (
          <Alert type="error" showIcon role="alert" message={t('generic.loadFailed')} description={err.message} />
        ) : !fields || (mode === 'edit' && !row.data) ? (
          <Skeleton active />
        ) : !fields.length ? (
          <Alert type="warning" showIcon message={t('generic.noPermission')} />
        ) : (
          <ResourceForm
            fields={fields}
            mode={mode}
            row={row.data ?? null}
            preset={preset}
            onSubmit={submit}
            onDirtyChange={setDirty}
            onCancel={() => nav(mode === 'edit' ? `/r/${view}/${id}` : routeForView(view))}
            submitText={mode === 'add' ? t('generic.create') : t('generic.save')}
          />
        )}
      </Card>
    </div>
  );
}
