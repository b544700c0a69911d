// The pipeline list's dialogs: a new pipeline, and one imported from an export file. A chunk of
// their own (forms, selects, the upload area): the list's first render needs none of them, and
// PipelineListPage loads them when a button that opens one is pointed at, focused or pressed.
import { useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Form, Input, Modal, Select, Upload } from 'antd';
import { InboxOutlined } from '@ant-design/icons';
import { resource } from '../api';
import { useT } from '../i18n';
import { nameRules } from './graph';
import { exportDocument, fetchOrgProjects, importPipeline, type Pipeline } from './model';

const LAST_PROJECT = 'cube.editor.project';
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function lastProject(): number | undefined {
  const v = Number(localStorage.getItem(LAST_PROJECT));
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

function useProjects(enabled: boolean) {
  return useQuery({ queryKey: ['editor-org-projects'], queryFn: fetchOrgProjects, enabled, staleTime: 30_000 });
}

function ProjectSelect({ enabled }: { enabled: boolean }) {
  const t = useT();
  const projects = useProjects(enabled);
  const form = Form.useFormInstance();
  // The remembered project may be gone (or not visible); a single project is the obvious pick.
  useEffect(() => {
    const list = projects.data;
    if (!list) return;
    const cur = form.getFieldValue('project') as number | undefined;
    if (cur !== undefined && !list.some((p) => p.id === cur)) form.setFieldValue('project', undefined);
    if (form.getFieldValue('project') === undefined && list.length === 1) form.setFieldValue('project', list[0].id);
  }, [projects.data, form]);
  return (
    <Form.Item name="project" label={t('editor.new.project')} rules={[{ required: true, message: t('editor.new.projectRequired') }]}>
      <Select
        showSearch
        optionFilterProp="label"
        loading={projects.isLoading}
        options={(projects.data ?? []).map((p) => ({ label: p.name, value: p.id }))}
        notFoundContent={projects.isError ? errText(projects.error) : t('editor.new.noProjects')}
        data-testid="pipeline-new-project"
      />
    </Form.Item>
  );
}

// Both dialogs end alike: make the pipeline, remember its project, refresh the list, open it.
function useCreateAndOpen(onClose: () => void) {
  const nav = useNavigate();
  const qc = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (project: number, make: () => Promise<{ id: number }>) => {
    setBusy(true);
    setError(null);
    try {
      const p = await make();
      localStorage.setItem(LAST_PROJECT, String(project));
      void qc.invalidateQueries({ queryKey: ['list', 'pipeline_modelview'] });
      onClose();
      nav(`/pipelines/${p.id}`);
    } catch (e) {
      setError(errText(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}

interface NewValues {
  project: number;
  name: string;
  describe: string;
}

export function NewPipelineModal({ open, onClose }: { open: boolean; onClose: () => void }) {
  const t = useT();
  const [form] = Form.useForm<NewValues>();
  const { busy, error, run } = useCreateAndOpen(onClose);

  const submit = (v: NewValues) =>
    run(v.project, () => resource.create<Pipeline>('pipeline_modelview', { project: v.project, name: v.name.trim(), describe: v.describe ?? '' }));

  return (
    <Modal
      title={t('editor.new.title')}
      open={open}
      onCancel={onClose}
      onOk={() => form.submit()}
      okText={t('editor.new.create')}
      cancelText={t('editor.cancel')}
      confirmLoading={busy}
      destroyOnHidden
    >
      <Form<NewValues>
        form={form}
        name="new-pipeline"
        layout="vertical"
        preserve={false}
        initialValues={{ project: lastProject(), name: '', describe: '' }}
        onFinish={submit}
      >
        <ProjectSelect enabled={open} />
        <Form.Item
          name="name"
          label={t('editor.new.name')}
          extra={t('editor.task.nameHelp')}
          rules={nameRules(t)}
        >
          <Input autoFocus autoComplete="off" data-testid="pipeline-new-name" />
        </Form.Item>
        <Form.Item name="describe" label={t('editor.settings.describe')}>
          <Input autoComplete="off" />
        </Form.Item>
        {error && <Alert type="error" showIcon message={error} role="alert" />}
        <button type="submit" hidden aria-hidden />
      </Form>
    </Modal>
  );
}

interface ImportValues {
  project: number;
  name: string;
}

export function ImportModal({ open, onClose }: { open: boolean; onClose: () => void }) {
  const t = useT();
  const [form] = Form.useForm<ImportValues>();
  const [doc, setDoc] = useState<{ file: string; doc: Record<string, unknown> } | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const { busy, error, setError, run } = useCreateAndOpen(onClose);

  const readFile = async (file: File) => {
    setFileError(null);
    setDoc(null);
    try {
      const d = exportDocument(JSON.parse(await file.text()));
      if (!d) throw new Error(t('editor.import.notExport'));
      setDoc({ file: file.name, doc: d });
      const name = (d.pipeline as { name?: unknown } | undefined)?.name;
      if (typeof name === 'string' && !form.getFieldValue('name')) form.setFieldValue('name', name);
    } catch (e) {
      setFileError(t('editor.import.badFile', { error: errText(e) }));
    }
  };

  const submit = async (v: ImportValues) => {
    if (!doc) {
      setFileError(t('editor.import.fileRequired'));
      return;
    }
    await run(v.project, () => importPipeline(v.project, doc.doc, v.name?.trim() || undefined));
  };

  return (
    <Modal
      title={t('editor.import.title')}
      open={open}
      onCancel={onClose}
      onOk={() => form.submit()}
      okText={t('editor.import.submit')}
      cancelText={t('editor.cancel')}
      confirmLoading={busy}
      destroyOnHidden
      afterClose={() => {
        setDoc(null);
        setFileError(null);
        setError(null);
      }}
    >
      <Form<ImportValues> form={form} name="import-pipeline" layout="vertical" preserve={false} initialValues={{ project: lastProject(), name: '' }} onFinish={submit}>
        <Form.Item label={t('editor.import.file')} required validateStatus={fileError ? 'error' : undefined} help={fileError ?? undefined}>
          <Upload.Dragger
            accept=".json,application/json"
            maxCount={1}
            showUploadList={false}
            beforeUpload={(file) => {
              void readFile(file);
              return false; // read here, never uploaded by antd
            }}
            data-testid="pipeline-import-file"
          >
            <p className="ant-upload-drag-icon">
              <InboxOutlined />
            </p>
            <p className="ant-upload-text">{doc ? doc.file : t('editor.import.drop')}</p>
            {doc && (
              <p className="ant-upload-hint">
                {t('editor.import.summary', { tasks: Array.isArray(doc.doc.tasks) ? doc.doc.tasks.length : 0 })}
              </p>
            )}
          </Upload.Dragger>
        </Form.Item>
        <ProjectSelect enabled={open} />
        <Form.Item
          name="name"
          label={t('editor.import.name')}
          extra={t('editor.import.nameHelp')}
          rules={nameRules(t, false)}
        >
          <Input autoComplete="off" data-testid="pipeline-import-name" />
        </Form.Item>
        {error && <Alert type="error" showIcon message={error} role="alert" />}
        <button type="submit" hidden aria-hidden />
      </Form>
    </Modal>
  );
}
