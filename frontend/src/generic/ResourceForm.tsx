// A create or edit form generated from a view's field descriptors (add_columns /
// edit_columns of _info). fieldSpec.ts decides kinds, rules and conversions; this draws them,
// submits the converted body and puts a server error on the field it names.
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Alert, Button, Form, Input, InputNumber, Select, Space, Switch, type FormInstance } from 'antd';
import { ApiError, type Row } from '../api';
import { useT } from '../i18n';
import {
  fieldErrorsFrom,
  fieldSpecs,
  initialValues,
  prettyJson,
  submitValues,
  type FieldInfo,
  type FieldSpec,
  type FormMode,
  type Translate,
} from './fieldSpec';
import { isRelation, isRelationList, relationLabel } from './format';
import { RelatedSelect } from './RelatedSelect';

export interface ResourceFormProps {
  fields: FieldInfo[];
  mode: FormMode;
  // The record being edited (as GET /api/<view>/<id> returns it).
  row?: Row | null;
  // Starting values of an add form (API values: ids for relations), e.g. from the URL.
  preset?: Row;
  // Fields not drawn; an add form still sends their preset value.
  hidden?: string[];
  // Receives the request body; a rejected promise shows its message (and marks the field).
  onSubmit: (body: Row) => Promise<unknown>;
  onCancel?: () => void;
  onDirtyChange?: (dirty: boolean) => void;
  submitText?: ReactNode;
  form?: FormInstance;
  // Extra buttons next to submit.
  extraButtons?: ReactNode;
  'data-testid'?: string;
}

export interface JsonEditorProps {
  id?: string;
  value?: string;
  onChange?: (v: string) => void;
  'aria-invalid'?: boolean;
}

// A JSON text editor: monospace text, checked by the field's rule, and a button that
// pretty-prints it.
export function JsonEditor({ id, value, onChange, ...rest }: JsonEditorProps) {
  const t = useT();
  let valid = true;
  try {
    if (value && value.trim()) JSON.parse(value);
  } catch {
    valid = false;
  }
  return (
    <div>
      <Input.TextArea
        id={id}
        value={value}
        onChange={(e) => onChange?.(e.target.value)}
        autoSize={{ minRows: 3, maxRows: 20 }}
        spellCheck={false}
        style={{ fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', fontSize: 13 }}
        aria-invalid={rest['aria-invalid']}
      />
      <Button
        size="small"
        type="link"
        style={{ paddingInline: 0 }}
        disabled={!valid || !value?.trim()}
        onClick={() => onChange?.(prettyJson(value))}
      >
        {t('generic.form.formatJson')}
      </Button>
    </div>
  );
}

function knownLabels(v: unknown): { id: number | string; label: string }[] {
  if (isRelation(v)) return [{ id: v.id, label: relationLabel(v) }];
  if (isRelationList(v)) return v.map((r) => ({ id: r.id, label: relationLabel(r) }));
  return [];
}

// The input of one field. A plain function, not a component: Form.Item hands value, onChange
// and id to its direct child, which must be the input itself.
function fieldInput(spec: FieldSpec, mode: FormMode, row: Row | null | undefined, t: Translate) {
  switch (spec.kind) {
    case 'textarea':
      return <Input.TextArea autoSize={{ minRows: 2, maxRows: 12 }} />;
    case 'password':
      return (
        <Input.Password
          autoComplete="new-password"
          placeholder={mode === 'edit' ? t('generic.form.secretKeep') : undefined}
        />
      );
    case 'integer':
      return <InputNumber precision={0} style={{ width: '100%' }} />;
    case 'float':
      return <InputNumber style={{ width: '100%' }} />;
    case 'switch':
      return <Switch />;
    case 'select':
      return <Select options={spec.options} allowClear={!spec.required} placeholder={t('generic.form.choose')} />;
    case 'related':
    case 'relatedMulti':
      return (
        <RelatedSelect
          table={spec.related?.table}
          display={spec.related?.display ?? 'name'}
          multiple={spec.kind === 'relatedMulti'}
          allowClear={!spec.required}
          known={knownLabels(row?.[spec.name])}
        />
      );
    case 'json':
      return <JsonEditor />;
    case 'datetime':
      return <Input type="datetime-local" style={{ maxWidth: 260 }} />;
    case 'input':
      return <Input autoComplete="off" />;
  }
}

export default function ResourceForm(props: ResourceFormProps) {
  const t = useT();
  const [own] = Form.useForm();
  const form = props.form ?? own;
  const { fields, mode, row, preset, hidden, onDirtyChange } = props;
  const specs = useMemo(() => fieldSpecs(fields, mode, t), [fields, mode, t]);
  const initial = useMemo(() => initialValues(specs, mode, row, preset), [specs, mode, row, preset]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const hiddenSet = useMemo(() => new Set(hidden ?? []), [hidden]);
  const dirty = useRef(false);
  // A ref, so a parent's inline callback does not count as a change of the form.
  const dirtyCb = useRef(onDirtyChange);
  dirtyCb.current = onDirtyChange;

  // A new row (after a reload of the record) restarts the form from it.
  useEffect(() => {
    form.resetFields();
    dirty.current = false;
    dirtyCb.current?.(false);
  }, [initial, form]);

  async function finish(values: Record<string, unknown>) {
    setError(null);
    const visible = specs.filter((s) => !hiddenSet.has(s.name));
    const body = submitValues(visible, values, mode === 'edit' ? initial : undefined);
    if (mode === 'add')
      for (const s of specs)
        if (hiddenSet.has(s.name)) Object.assign(body, submitValues([s], { [s.name]: initial[s.name] }));
    setBusy(true);
    try {
      await props.onSubmit(body);
      dirty.current = false;
      dirtyCb.current?.(false);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const named = e instanceof ApiError ? fieldErrorsFrom(msg, visible.map((s) => s.name)) : null;
      if (named) form.setFields(named.fields.map((name) => ({ name, errors: [named.text] })));
      setError(msg);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Form
      form={form}
      layout="vertical"
      initialValues={initial}
      onFinish={finish}
      onValuesChange={() => {
        if (!dirty.current) {
          dirty.current = true;
          dirtyCb.current?.(true);
        }
      }}
      scrollToFirstError
      data-testid={props['data-testid'] ?? 'resource-form'}
      style={{ maxWidth: 760 }}
    >
      {specs
        .filter((s) => !hiddenSet.has(s.name))
        .map((s) => (
          <Form.Item
            key={s.name}
            name={s.name}
            label={s.label}
            rules={s.rules}
            required={s.required}
            extra={s.help || undefined}
            valuePropName={s.kind === 'switch' ? 'checked' : 'value'}
          >
            {fieldInput(s, mode, row, t)}
          </Form.Item>
        ))}
      {!specs.length && <Alert type="info" showIcon message={t('generic.form.noFields')} style={{ marginBottom: 16 }} />}
      {error && <Alert type="error" showIcon message={error} role="alert" style={{ marginBottom: 16 }} data-testid="form-error" />}
      <Space>
        <Button type="primary" htmlType="submit" loading={busy} data-testid="form-submit">
          {props.submitText ?? t('generic.save')}
        </Button>
        {props.onCancel && <Button onClick={props.onCancel}>{t('generic.cancel')}</Button>}
        {props.extraButtons}
      </Space>
    </Form>
  );
}
