// /tokens — personal API tokens: the list, a new token (name and expiry, the form generated
// from token_modelview's add_columns), and revoking one. The server keeps only a hash: the
// token itself is in the create response alone, so it is shown once, with a copy button.
import { useRef, useState } from 'react';
import { Alert, App, Button, Input, Modal, Space, Typography } from 'antd';
import { CopyOutlined, KeyOutlined } from '@ant-design/icons';
import { useQueryClient } from '@tanstack/react-query';
import { resource, type Row } from '../api';
import { useT } from '../i18n';
import ResourceForm from '../generic/ResourceForm';
import { useInfo } from '../generic/related';
import ResourceList from '../generic/ResourceList';

const VIEW = 'token_modelview';

async function copyText(text: string, fallback: HTMLInputElement | null): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API (a page served over plain HTTP on a non-local address): select and copy.
    if (!fallback) return false;
    fallback.select();
    return document.execCommand('copy');
  }
}

function SecretModal({ token, onClose }: { token: string | null; onClose: () => void }) {
  const t = useT();
  const { message } = App.useApp();
  const inputRef = useRef<HTMLInputElement | null>(null);
  const [copied, setCopied] = useState(false);
  return (
    <Modal
      open={!!token}
      title={t('generic.tokens.created')}
      closable={false}
      maskClosable={false}
      keyboard={false}
      destroyOnHidden
      afterClose={() => setCopied(false)}
      footer={
        <Button type="primary" onClick={onClose} data-testid="token-done">
          {t('generic.tokens.done')}
        </Button>
      }
    >
      <Alert type="warning" showIcon message={t('generic.tokens.once')} style={{ marginBottom: 16 }} role="alert" />
      <Space.Compact style={{ width: '100%' }}>
        <Input
          readOnly
          value={token ?? ''}
          aria-label={t('generic.tokens.secret')}
          data-testid="token-secret"
          style={{ fontFamily: 'monospace' }}
          ref={(r) => {
            inputRef.current = r?.input ?? null;
          }}
          onFocus={(e) => e.target.select()}
        />
        <Button
          icon={<CopyOutlined />}
          data-testid="token-copy"
          onClick={async () => {
            const ok = await copyText(token ?? '', inputRef.current);
            setCopied(ok);
            if (ok) message.success(t('generic.tokens.copied'));
            else message.error(t('generic.tokens.copyFailed'));
          }}
        >
          {copied ? t('generic.tokens.copiedShort') : t('generic.tokens.copy')}
        </Button>
      </Space.Compact>
      <Typography.Paragraph type="secondary" style={{ marginTop: 16, marginBottom: 0 }}>
        {t('generic.tokens.usage')}
      </Typography.Paragraph>
    </Modal>
  );
}

export default function Tokens() {
  const t = useT();
  const qc = useQueryClient();
  const info = useInfo(VIEW);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);

  async function create(body: Row) {
    const row = await resource.create<Row & { token?: string }>(VIEW, body);
    setCreating(false);
    setSecret(typeof row.token === 'string' ? row.token : null);
    await qc.invalidateQueries({ queryKey: ['list', VIEW] });
  }

  return (
    <div data-testid="tokens-page">
      <ResourceList
        view={VIEW}
        title={t('generic.tokens.title')}
        hideCreate
        deleteLabel={t('generic.tokens.revoke')}
        hideFilters
        toolbarExtra={
          info.data?.user_permissions.add && (
            <Button type="primary" icon={<KeyOutlined />} onClick={() => setCreating(true)} data-testid="tokens-new">
              {t('generic.tokens.new')}
            </Button>
          )
        }
      />
      <Modal
        open={creating}
        title={t('generic.tokens.new')}
        onCancel={() => setCreating(false)}
        footer={null}
        destroyOnHidden
      >
        {info.data && (
          <ResourceForm
            fields={info.data.add_columns}
            mode="add"
            onSubmit={create}
            onCancel={() => setCreating(false)}
            submitText={t('generic.tokens.create')}
            data-testid="token-form"
          />
        )}
      </Modal>
      <SecretModal token={secret} onClose={() => setSecret(null)} />
    </div>
  );
}
