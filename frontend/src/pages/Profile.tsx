// /profile — the caller's own record (view userinfo, scoped to the caller): what it shows,
// editing the fields userinfo lets one edit (nickname, email), and a new password (userinfo's
// write-only password field; the server hashes it), which the server accepts only with the
// present one.
import { useMemo, useState } from 'react';
import { Alert, App, Button, Card, Col, Descriptions, Form, Input, Row as GridRow, Skeleton, Tag } from 'antd';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { resource, type Row } from '../api';
import { useT } from '../i18n';
import { CellValue } from '../generic/CellValue';
import { fieldSpec, type FieldInfo } from '../generic/fieldSpec';
import { isRelationList, relationLabel } from '../generic/format';
import { rowKey, useInfo } from '../generic/related';
import ResourceForm from '../generic/ResourceForm';
import { meKey, useMe } from '../shell/session';

const VIEW = 'userinfo';

function PasswordForm({ id, field }: { id: number; field: FieldInfo }) {
  const t = useT();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ current: string; password: string; confirm: string }>();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The same rules the generated form would apply (the server's minimum length, ...).
  const spec = useMemo(() => fieldSpec({ ...field, required: true, validators: [{ type: 'DataRequired' }, ...field.validators] }, 'add', t), [field, t]);

  async function submit(v: { current: string; password: string }) {
    setError(null);
    setBusy(true);
    try {
      await resource.update(VIEW, id, { password: v.password, current_password: v.current });
      form.resetFields();
      message.success(t('generic.profile.passwordChanged'));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Form form={form} layout="vertical" onFinish={submit} style={{ maxWidth: 420 }} data-testid="password-form">
      {/* Lets password managers tie the new password to this account. */}
      <input type="text" autoComplete="username" hidden readOnly />
      <Form.Item
        name="current"
        label={t('generic.profile.currentPassword')}
        rules={[{ required: true, message: t('generic.form.required', { field: t('generic.profile.currentPassword') }) }]}
      >
        <Input.Password autoComplete="current-password" data-testid="password-current" />
      </Form.Item>
      <Form.Item name="password" label={t('generic.profile.newPassword')} rules={spec.rules} extra={spec.help || undefined}>
        <Input.Password autoComplete="new-password" data-testid="password-new" />
      </Form.Item>
      <Form.Item
        name="confirm"
        label={t('generic.profile.confirmPassword')}
        dependencies={['password']}
        rules={[
          { required: true, message: t('generic.form.required', { field: t('generic.profile.confirmPassword') }) },
          ({ getFieldValue }) => ({
            validator: async (_r, value: unknown) => {
              if (value && value !== getFieldValue('password')) throw new Error(t('generic.profile.mismatch'));
            },
          }),
        ]}
      >
        <Input.Password autoComplete="new-password" data-testid="password-confirm" />
      </Form.Item>
      {error && <Alert type="error" showIcon role="alert" message={error} style={{ marginBottom: 16 }} />}
      <Button type="primary" htmlType="submit" loading={busy} data-testid="password-submit">
        {t('generic.profile.changePassword')}
      </Button>
    </Form>
  );
}

export default function Profile() {
  const t = useT();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const me = useMe();
  const id = me.data?.id;
  const info = useInfo(VIEW);
  const row = useQuery({
    queryKey: rowKey(VIEW, id ?? ''),
    queryFn: () => resource.show(VIEW, id as number),
    enabled: id !== undefined,
  });

  const fields = (info.data?.edit_columns ?? []) as FieldInfo[];
  const editFields = useMemo(() => fields.filter((f) => !f.write_only && f.name !== 'password'), [fields]);
  const passwordField = fields.find((f) => f.name === 'password');

  async function save(body: Row) {
    if (id === undefined) return;
    await resource.update(VIEW, id, body);
    message.success(t('generic.profile.saved'));
    await Promise.all([qc.invalidateQueries({ queryKey: meKey }), qc.invalidateQueries({ queryKey: rowKey(VIEW, id) })]);
  }

  const err = me.error ?? info.error ?? row.error;
  if (err) return <Alert type="error" showIcon role="alert" message={t('generic.loadFailed')} description={err.message} />;
  if (!row.data || !info.data || id === undefined) return <Skeleton active />;
  const r = row.data;
  const inf = info.data;

  return (
    <div data-testid="profile-page">
      <GridRow gutter={[16, 16]}>
        <Col xs={24} xl={12}>
          <Card title={t('generic.profile.title')}>
            <Descriptions
              column={1}
              size="small"
              items={inf.show_columns.map((c) => ({
                key: c,
                label: inf.label_columns[c] ?? c,
                children: isRelationList(r[c]) ? (
                  <span>
                    {(r[c] as Array<{ id: number | string }>).map((x) => (
                      <Tag key={String(x.id)}>{relationLabel(x as Record<string, unknown>)}</Tag>
                    ))}
                  </span>
                ) : (
                  <CellValue value={r[c]} full />
                ),
              }))}
            />
            <div style={{ marginTop: 16 }}>
              <Link to="/tokens">{t('generic.profile.tokens')}</Link>
            </div>
          </Card>
        </Col>
        <Col xs={24} xl={12}>
          {editFields.length > 0 && (
            <Card title={t('generic.profile.edit')} style={{ marginBottom: 16 }}>
              <ResourceForm fields={editFields} mode="edit" row={r} onSubmit={save} data-testid="profile-form" />
            </Card>
          )}
          {passwordField && (
            <Card title={t('generic.profile.changePassword')}>
              <PasswordForm id={id} field={passwordField} />
            </Card>
          )}
        </Col>
      </GridRow>
    </div>
  );
}
