// /pipelines: the generic list of pipeline_modelview with the editor, run and runs links on
// every row, and "New pipeline" / "Import" in the toolbar. No React Flow here: the editor is a
// chunk of its own.
import { lazy, Suspense, useState } from 'react';
import { useNavigate } from 'react-router';
import { App, Button, Space } from 'antd';
import { CaretRightOutlined, HistoryOutlined, ImportOutlined, NodeIndexOutlined, PlusOutlined } from '@ant-design/icons';
import type { Row } from '../api';
import { Hint, useOpenedOnce } from '../generic/Hint';
import { LiteButton, LiteLink, LiteTag } from '../generic/lite';
import ResourceList from '../generic/ResourceList';
import { useT } from '../i18n';
import { runPipeline } from './model';

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

// The dialogs' chunk (PipelineDialogs.tsx), asked for at most once.
const dialogs = () => import('./PipelineDialogs');
const NewPipelineModal = lazy(() => dialogs().then((m) => ({ default: m.NewPipelineModal })));
const ImportModal = lazy(() => dialogs().then((m) => ({ default: m.ImportModal })));
const preloadDialogs = () => void dialogs();

function RowActions({ row }: { row: Row }) {
  const t = useT();
  const nav = useNavigate();
  const { message } = App.useApp();
  const [busy, setBusy] = useState(false);
  const id = String(row.id);
  const run = async () => {
    setBusy(true);
    try {
      const r = await runPipeline(id);
      nav(`/runs/${r.id}`);
    } catch (e) {
      message.error(t('editor.runFailed', { error: errText(e) }));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Hint title={t('editor.list.edit')}>
        <LiteLink to={`/pipelines/${id}`} aria-label={t('editor.list.edit')} data-testid={`pipeline-edit-${id}`}>
          <LiteButton icon={<NodeIndexOutlined />} tabIndex={-1} />
        </LiteLink>
      </Hint>
      <Hint title={t('editor.run')}>
        <LiteButton
          icon={<CaretRightOutlined />}
          loading={busy}
          onClick={() => void run()}
          aria-label={t('editor.run')}
          data-testid={`pipeline-run-${id}`}
        />
      </Hint>
      <Hint title={t('editor.runs')}>
        <LiteLink to={`/runs?pipeline=${id}`} aria-label={t('editor.runs')} data-testid={`pipeline-runs-${id}`}>
          <LiteButton icon={<HistoryOutlined />} tabIndex={-1} />
        </LiteLink>
      </Hint>
    </>
  );
}

export default function PipelineListPage() {
  const t = useT();
  const [newOpen, setNewOpen] = useState(false);
  const [importOpen, setImportOpen] = useState(false);
  const newMounted = useOpenedOnce(newOpen);
  const importMounted = useOpenedOnce(importOpen);
  return (
    <>
      <ResourceList
        view="pipeline_modelview"
        title={t('editor.list.title')}
        rowLink={(row) => `/pipelines/${String(row.id)}`}
        rowActions={(row) => <RowActions row={row} />}
        hideCreate
        columnRender={{
          schedule_type: (v) => (v === 'crontab' ? <LiteTag color="blue">{t('editor.list.cron')}</LiteTag> : <LiteTag>{t('editor.settings.once')}</LiteTag>),
        }}
        toolbarExtra={
          <Space>
            <Button
              type="primary"
              icon={<PlusOutlined />}
              onClick={() => setNewOpen(true)}
              onMouseEnter={preloadDialogs}
              onFocus={preloadDialogs}
              data-testid="pipeline-new"
            >
              {t('editor.list.new')}
            </Button>
            <Button icon={<ImportOutlined />} onClick={() => setImportOpen(true)} onMouseEnter={preloadDialogs} onFocus={preloadDialogs} data-testid="pipeline-import">
              {t('editor.list.import')}
            </Button>
          </Space>
        }
      />
      {/* Shown when their chunk is in (at once when it was preloaded). */}
      {newMounted && (
        <Suspense fallback={null}>
          <NewPipelineModal open={newOpen} onClose={() => setNewOpen(false)} />
        </Suspense>
      )}
      {importMounted && (
        <Suspense fallback={null}>
          <ImportModal open={importOpen} onClose={() => setImportOpen(false)} />
        </Suspense>
      )}
    </>
  );
}
