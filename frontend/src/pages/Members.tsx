// /members — the members of one project (picked at the top, kept in ?project=): the generic
// list of project_user_modelview for that project, adding a member (a user and a role) and
// removing one. Only a project's creators (and admins) may change its members; the server
// decides and its message is shown as it is.
import { useEffect, useMemo, useState } from 'react';
import { Alert, App, Button, Form, Modal, Select, Space, Typography } from 'antd';
import { UserAddOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import { ApiError, request, resource, type ListResult, type Row } from '../api';
import { useT } from '../i18n';
import { fieldErrorsFrom } from '../generic/fieldSpec';
import { isRelation, relationLabel } from '../generic/format';
import { RelatedSelect } from '../generic/RelatedSelect';
import { useInfo } from '../generic/related';
import ResourceList from '../generic/ResourceList';

const VIEW = 'project_user_modelview';

interface FoundUser {
  id: number;
  username: string;
  nickname: string;
}

// Who can be picked: an admin searches every user; anyone else picks among the users they
// already share a project with (the API lists users to admins only), or types someone's exact
// username, which the API looks up for project creators (GET /api/users/lookup).
function UserPicker(props: { value?: number; onChange?: (v: number | undefined) => void; id?: string }) {
  const t = useT();
  const users = useInfo('users');
  const canList = !!users.data?.user_permissions.list;
  const [typed, setTyped] = useState('');
  const known = useQuery({
    queryKey: ['list', VIEW, 'known-users'],
    queryFn: () => resource.list(VIEW, { page_size: 2000, columns: ['user'] }),
    enabled: users.isSuccess && !canList,
    staleTime: 60_000,
  });
  // Asked when the typing pauses, not for every prefix on the way to the name.
  const [name, setName] = useState('');
  useEffect(() => {
    const timer = setTimeout(() => setName(typed.trim().toLowerCase()), 250);
    return () => clearTimeout(timer);
  }, [typed]);
  const found = useQuery({
    queryKey: ['user-lookup', name],
    queryFn: ({ signal }) =>
      request<ListResult<FoundUser>>('/api/users/lookup', { query: { username: name }, signal }).then((r) => r.data[0] ?? null),
    enabled: users.isSuccess && !canList && name.length >= 2,
    staleTime: 60_000,
    retry: false,
  });
  const options = useMemo(() => {
    const m = new Map<number, string>();
    for (const r of known.data?.data ?? []) if (isRelation(r.user)) m.set(Number(r.user.id), relationLabel(r.user));
    if (found.data) m.set(found.data.id, found.data.username);
    return [...m].map(([value, label]) => ({ value, label })).sort((a, b) => a.label.localeCompare(b.label));
  }, [known.data, found.data]);

  if (users.isLoading) return <Select id={props.id} loading disabled style={{ width: '100%' }} />;
  if (canList)
    return (
      <RelatedSelect
        id={props.id}
        view="users"
        display="username"
        value={props.value}
        onChange={(v) => props.onChange?.(v === undefined ? undefined : Number(v))}
        placeholder={t('generic.members.userPlaceholder')}
        data-testid="member-user"
      />
    );
  return (
    <Select
      id={props.id}
      data-testid="member-user"
      showSearch
      optionFilterProp="label"
      options={options}
      value={props.value}
      onChange={(v: number | undefined) => props.onChange?.(v)}
      onSearch={setTyped}
      loading={known.isLoading || found.isFetching}
      allowClear
      placeholder={t('generic.members.userPlaceholder')}
      notFoundContent={<Typography.Text type="secondary">{t('generic.members.userUnknown')}</Typography.Text>}
    />
  );
}

function AddMember({ project, open, onClose }: { project: number; open: boolean; onClose: () => void }) {
  const t = useT();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const [form] = Form.useForm<{ user?: number; role: string }>();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const info = useInfo(VIEW);
  const roleField = info.data?.add_columns.find((c) => c.name === 'role');
  const roles = roleField?.values?.map((v) => ({ value: String(v.id), label: t(`generic.members.role.${v.id}`) === `generic.members.role.${v.id}` ? v.value : t(`generic.members.role.${v.id}`) })) ?? [];
  const defaultRole = typeof roleField?.default === 'string' ? roleField.default : 'dev';

  async function submit(v: { user?: number; role: string }) {
    setError(null);
    setBusy(true);
    try {
      await resource.create(VIEW, { project, user: v.user, role: v.role });
      message.success(t('generic.members.added'));
      await qc.invalidateQueries({ queryKey: ['list', VIEW] });
      form.resetFields();
      onClose();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const named = e instanceof ApiError ? fieldErrorsFrom(msg, ['user', 'role']) : null;
      if (named) form.setFields(named.fields.map((name) => ({ name: name as 'user' | 'role', errors: [named.text] })));
      setError(msg);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open={open}
      title={t('generic.members.add')}
      onCancel={onClose}
      destroyOnHidden
      footer={[
        <Button key="cancel" onClick={onClose}>
          {t('generic.cancel')}
        </Button>,
        <Button key="ok" type="primary" htmlType="submit" form="add-member" loading={busy} data-testid="member-submit">
          {t('generic.members.addOk')}
        </Button>,
      ]}
    >
      <Form id="add-member" form={form} layout="vertical" onFinish={submit} initialValues={{ role: defaultRole }}>
        <Form.Item
          name="user"
          label={t('generic.members.user')}
          rules={[{ required: true, message: t('generic.form.required', { field: t('generic.members.user') }) }]}
        >
          <UserPicker />
        </Form.Item>
        <Form.Item name="role" label={t('generic.members.roleLabel')} extra={roleField?.description} rules={[{ required: true }]}>
          <Select options={roles} data-testid="member-role" />
        </Form.Item>
        {error && <Alert type="error" showIcon role="alert" message={error} data-testid="form-error" />}
      </Form>
    </Modal>
  );
}

export default function Members() {
  const t = useT();
  const [params, setParams] = useSearchParams();
  const project = Number(params.get('project')) || undefined;
  const [adding, setAdding] = useState(false);
  const info = useInfo(VIEW);

  // Without a project in the URL, the first one the caller may see.
  const first = useQuery({
    queryKey: ['list', 'project_modelview', 'members-first'],
    queryFn: () =>
      resource.list<Row>('project_modelview', {
        filters: [{ col: 'type', opr: 'eq', value: 'org' }],
        page_size: 1,
        order_column: 'name',
        order_direction: 'asc',
      }) as Promise<ListResult>,
    enabled: !project,
  });
  useEffect(() => {
    const id = first.data?.data[0]?.id;
    if (!project && id !== undefined)
      setParams(
        (p) => {
          const n = new URLSearchParams(p);
          n.set('project', String(id));
          return n;
        },
        { replace: true },
      );
  }, [project, first.data, setParams]);

  // Filters and pages of another project's list mean nothing here: a new query string.
  const pick = (id: number | undefined) => setParams(id ? { project: String(id) } : {});

  const fixed = useMemo(() => (project ? [{ col: 'project', opr: 'rel_o_m', value: project }] : []), [project]);

  const heading = (
    <Space wrap align="center" size="middle">
      <span>{t('generic.members.title')}</span>
      <Space size={8} style={{ fontSize: 14, fontWeight: 400 }}>
        <label htmlFor="members-project">{t('generic.members.project')}</label>
        <RelatedSelect
          id="members-project"
          view="project_modelview"
          display="name"
          value={project}
          onChange={(v) => pick(v === undefined ? undefined : Number(v))}
          allowClear={false}
          style={{ width: 260 }}
          placeholder={t('generic.members.pickProject')}
          data-testid="members-project"
        />
      </Space>
    </Space>
  );

  return (
    <div data-testid="members-page">
      {!project ? (
        <>
          <Typography.Title level={4}>{heading}</Typography.Title>
          {first.isSuccess && !first.data.data.length ? (
            <Alert type="info" showIcon message={t('generic.members.noProjects')} />
          ) : first.isError ? (
            <Alert type="error" showIcon role="alert" message={first.error.message} />
          ) : null}
        </>
      ) : (
        <>
          <ResourceList
            key={project}
            view={VIEW}
            title={heading}
            fixedFilters={fixed}
            hideColumns={['project']}
            hideCreate
            deleteLabel={t('generic.members.remove')}
            toolbarExtra={
              info.data?.user_permissions.add && (
                <Button type="primary" icon={<UserAddOutlined />} onClick={() => setAdding(true)} data-testid="members-add">
                  {t('generic.members.add')}
                </Button>
              )
            }
          />
          <AddMember project={project} open={adding} onClose={() => setAdding(false)} />
        </>
      )}
    </div>
  );
}
