// The sign-in page. POST /api/login sets the session cookie; with auto-registration on, an
// unknown username with a long enough password creates the account (the server decides).
import { useState } from 'react';
import { Alert, Button, Card, Form, Input, Typography } from 'antd';
import { LockOutlined, UserOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate, useSearchParams } from 'react-router';
import { request } from '../api';
import { useI18n } from '../i18n';
import { fetchMe, meKey } from '../shell/session';

interface LoginConfig {
  auto_register: boolean;
}

export default function Login() {
  const { t, lang, setLang } = useI18n();
  const nav = useNavigate();
  const [params] = useSearchParams();
  const qc = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const config = useQuery({
    queryKey: ['login-config'],
    queryFn: () => request<LoginConfig>('/api/login', { quiet401: true }),
  });

  async function submit(v: { username: string; password: string }) {
    setBusy(true);
    setError(null);
    try {
      await request('/api/login', { body: v, quiet401: true });
      // Fetched, not just invalidated: nothing on this page observes the query, and the shell
      // must not see the cached "signed out" answer and send the user back here.
      await qc.fetchQuery({ queryKey: meKey, queryFn: fetchMe, staleTime: 0 });
      const next = params.get('next');
      // Only paths inside the app: an absolute URL here would make login an open redirect.
      nav(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div style={{ minHeight: '100vh', display: 'grid', placeItems: 'center', background: '#f0f2f5' }}>
      <Card style={{ width: 380 }}>
        <div style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center' }}>
          <Typography.Title level={3} style={{ margin: 0 }}>
            <img src={`${import.meta.env.BASE_URL}favicon.svg`} alt="" width={28} style={{ verticalAlign: -5, marginRight: 8 }} />
            {t('shell.login.title')}
          </Typography.Title>
          <Button type="link" onClick={() => setLang(lang === 'en' ? 'zh' : 'en')}>
            {t('shell.language')}
          </Button>
        </div>
        <Form layout="vertical" onFinish={submit} style={{ marginTop: 24 }} requiredMark={false}>
          <Form.Item
            name="username"
            label={t('shell.login.username')}
            rules={[{ required: true, message: t('shell.login.required', { field: t('shell.login.username') }) }]}
          >
            <Input prefix={<UserOutlined />} autoComplete="username" autoFocus />
          </Form.Item>
          <Form.Item
            name="password"
            label={t('shell.login.password')}
            rules={[{ required: true, message: t('shell.login.required', { field: t('shell.login.password') }) }]}
          >
            <Input.Password prefix={<LockOutlined />} autoComplete="current-password" />
          </Form.Item>
          {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 16 }} role="alert" />}
          <Button type="primary" htmlType="submit" block loading={busy}>
            {t('shell.login.submit')}
          </Button>
        </Form>
        {config.data?.auto_register && (
          <Typography.Paragraph type="secondary" style={{ marginTop: 16, marginBottom: 0 }}>
            {t('shell.login.autoRegister')}
          </Typography.Paragraph>
        )}
      </Card>
    </div>
  );
}
