// The right-hand panel for the selected task: its name and label, the argument form generated
// from its template's schema, resources, timeout, retry, skip and the advanced overrides.
// Edits go to the editor store as they are typed; the toolbar's Save sends them.
import { useEffect, useMemo, type MutableRefObject } from 'react';
import { Button, Collapse, Form, Input, InputNumber, Popconfirm, Space, Switch, Typography } from 'antd';
import { CloseOutlined, DeleteOutlined, SaveOutlined } from '@ant-design/icons';
import { useT } from '../i18n';
import { fieldSpecs } from './argForm';
import { ArgFields } from './ArgFields';
import { nameRules } from './graph';
import type { Task, Template } from './model';
import { CPU_RE, GPU_RE, MEM_RE, NODE_SELECTOR_RE, type TaskFormValues } from './taskForm';

export type Validator = () => Promise<boolean>;

interface Props {
  nodeId: string;
  task: Task | undefined;
  template: Template | undefined;
  initial: TaskFormValues;
  readOnly: boolean;
  isNameTaken: (name: string, nodeId: string) => boolean;
  onChange: (nodeId: string, values: TaskFormValues) => void;
  onDelete: (nodeId: string) => void;
  onClose: () => void;
  onSave: () => void;
  validatorRef: MutableRefObject<Validator | null>;
}

export function TaskPanel({ nodeId, task, template, initial, readOnly, isNameTaken, onChange, onDelete, onClose, onSave, validatorRef }: Props) {
  const t = useT();
  const [form] = Form.useForm<TaskFormValues>();
  const specs = useMemo(() => fieldSpecs(template?.args, t), [template, t]);

  useEffect(() => {
    validatorRef.current = () => form.validateFields().then(
      () => true,
      () => false,
    );
    return () => {
      validatorRef.current = null;
    };
  }, [form, validatorRef]);

  const helpUrl = template?.expand?.help_url;
  return (
    <aside className="cube-editor__panel" data-testid="task-panel" aria-label={t('editor.panel.title')}>
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 8 }}>
        <Typography.Title level={5} style={{ margin: 0 }}>
          {t('editor.panel.title')}
        </Typography.Title>
        <Button type="text" size="small" icon={<CloseOutlined />} aria-label={t('editor.panel.close')} onClick={onClose} />
      </Space>
      <Typography.Paragraph type="secondary" style={{ fontSize: 12, marginBottom: 12 }}>
        {t('editor.panel.template')}: <Typography.Text code>{template?.name ?? task?.job_template.name ?? '?'}</Typography.Text>
        {template?.describe ? ` — ${template.describe}` : ''}
        {helpUrl ? (
          <>
            {' '}
            <a href={helpUrl} target="_blank" rel="noreferrer">
              {t('editor.panel.help')}
            </a>
          </>
        ) : null}
      </Typography.Paragraph>
      <Form<TaskFormValues>
        form={form}
        name="task"
        layout="vertical"
        size="small"
        initialValues={initial}
        disabled={readOnly}
        onValuesChange={() => onChange(nodeId, form.getFieldsValue(true) as TaskFormValues)}
        onFinish={onSave}
      >
        <Form.Item
          name="name"
          label={t('editor.task.name')}
          extra={t('editor.task.nameHelp')}
          rules={[
            ...nameRules(t),
            {
              validator: (_r, v: string) =>
                v && isNameTaken(v.trim(), nodeId) ? Promise.reject(new Error(t('editor.task.nameTaken'))) : Promise.resolve(),
            },
          ]}
        >
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="label" label={t('editor.task.label')} rules={[{ max: 200, message: t('editor.task.tooLong', { n: 200 }) }]}>
          <Input autoComplete="off" />
        </Form.Item>

        <Typography.Title level={5} style={{ fontSize: 14, marginTop: 16 }}>
          {t('editor.panel.args')}
        </Typography.Title>
        {template ? (
          <ArgFields specs={specs} disabled={readOnly} />
        ) : (
          <Typography.Paragraph type="secondary" style={{ fontSize: 13 }}>
            {t('editor.panel.unknownTemplate')}
          </Typography.Paragraph>
        )}

        <Typography.Title level={5} style={{ fontSize: 14, marginTop: 16 }}>
          {t('editor.panel.resources')}
        </Typography.Title>
        <div style={{ display: 'flex', gap: 8 }}>
          <Form.Item
            name="resource_cpu"
            label={t('editor.task.cpu')}
            tooltip={t('editor.task.cpuHelp')}
            rules={[{ pattern: CPU_RE, message: t('editor.task.cpuHelp') }]}
            style={{ flex: 1 }}
          >
            <Input placeholder="1" />
          </Form.Item>
          <Form.Item
            name="resource_memory"
            label={t('editor.task.memory')}
            tooltip={t('editor.task.memoryHelp')}
            rules={[{ pattern: MEM_RE, message: t('editor.task.memoryHelp') }]}
            style={{ flex: 1 }}
          >
            <Input placeholder="2G" />
          </Form.Item>
          <Form.Item
            name="resource_gpu"
            label={t('editor.task.gpu')}
            tooltip={t('editor.task.gpuHelp')}
            rules={[{ pattern: GPU_RE, message: t('editor.task.gpuHelp') }]}
            style={{ flex: 1 }}
          >
            <Input placeholder="0" />
          </Form.Item>
        </div>
        <div style={{ display: 'flex', gap: 8 }}>
          <Form.Item name="timeout" label={t('editor.task.timeout')} tooltip={t('editor.task.timeoutHelp')} style={{ flex: 1 }}>
            <InputNumber min={0} precision={0} style={{ width: '100%' }} />
          </Form.Item>
          <Form.Item name="retry" label={t('editor.task.retry')} style={{ flex: 1 }}>
            <InputNumber min={0} max={100} precision={0} style={{ width: '100%' }} />
          </Form.Item>
          <Form.Item name="skip" label={t('editor.task.skip')} tooltip={t('editor.task.skipHelp')} valuePropName="checked" style={{ flex: 1 }}>
            <Switch />
          </Form.Item>
        </div>

        <Collapse
          size="small"
          ghost
          style={{ margin: '0 -16px 8px' }}
          items={[
            {
              key: 'adv',
              label: t('editor.panel.advanced'),
              forceRender: true,
              children: (
                <>
                  <Form.Item
                    name="command"
                    label={t('editor.task.command')}
                    extra={t('editor.task.commandHelp')}
                    rules={[{ max: 20000, message: t('editor.task.tooLong', { n: 20000 }) }]}
                  >
                    <Input.TextArea autoSize={{ minRows: 2, maxRows: 10 }} className="cube-mono" />
                  </Form.Item>
                  <Form.Item name="working_dir" label={t('editor.task.workingDir')} rules={[{ max: 500, message: t('editor.task.tooLong', { n: 500 }) }]}>
                    <Input />
                  </Form.Item>
                  <Form.Item
                    name="volume_mount"
                    label={t('editor.task.volumes')}
                    extra={t('editor.task.volumesHelp')}
                    rules={[{ max: 2000, message: t('editor.task.tooLong', { n: 2000 }) }]}
                  >
                    <Input />
                  </Form.Item>
                  <Form.Item
                    name="node_selector"
                    label={t('editor.task.nodeSelector')}
                    extra="k=v;k=v"
                    rules={[{ pattern: NODE_SELECTOR_RE, message: t('editor.task.nodeSelectorHelp') }]}
                  >
                    <Input />
                  </Form.Item>
                </>
              ),
            },
          ]}
        />
        {!readOnly && (
          <Space style={{ width: '100%', justifyContent: 'space-between' }}>
            <Button type="primary" htmlType="submit" icon={<SaveOutlined />} data-testid="task-save">
              {t('editor.save')}
            </Button>
            <Popconfirm
              title={t('editor.deleteTask.title', { name: task?.name ?? initial.name })}
              description={t('editor.deleteTask.body')}
              okText={t('editor.delete')}
              okButtonProps={{ danger: true }}
              cancelText={t('editor.cancel')}
              onConfirm={() => onDelete(nodeId)}
            >
              <Button danger icon={<DeleteOutlined />} data-testid="task-delete">
                {t('editor.deleteTask.button')}
              </Button>
            </Popconfirm>
          </Space>
        )}
      </Form>
    </aside>
  );
}
