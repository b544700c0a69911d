// Draws the fields argForm.ts derived from a template's args schema, inside the task form
// (under the "args" key). Groups of the schema become titled sections.
import { Fragment, type ComponentProps, type ReactNode } from 'react';
import { Button, Card, Form, Input, InputNumber, Select, Switch, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useT } from '../i18n';
import { initialFormValues, type FieldSpec } from './argForm';

type Path = (string | number)[];
// Form.List takes validator rules only; argForm gives a dict list nothing else.
type ListRules = ComponentProps<typeof Form.List>['rules'];

// The help line under a field: describe, the range, "fixed"; undefined when there is none, so
// that antd leaves no empty space for it.
function extraOf(spec: FieldSpec, t: ReturnType<typeof useT>): ReactNode {
  const parts: ReactNode[] = [];
  if (spec.help) parts.push(spec.help);
  if (spec.min !== undefined && spec.max !== undefined) parts.push(t('editor.arg.rangeBoth', { min: spec.min, max: spec.max }));
  else if (spec.min !== undefined) parts.push(t('editor.arg.rangeMin', { min: spec.min }));
  else if (spec.max !== undefined) parts.push(t('editor.arg.rangeMax', { max: spec.max }));
  if (!spec.editable) parts.push(t('editor.arg.fixed'));
  if (!parts.length) return undefined;
  return parts.map((p, i) => (
    <Fragment key={i}>
      {i > 0 ? ' · ' : ''}
      {p}
    </Fragment>
  ));
}

function Label({ spec }: { spec: FieldSpec }) {
  return (
    <span>
      {spec.label}
      {spec.label !== spec.name && (
        <Typography.Text type="secondary" code style={{ marginInlineStart: 6, fontSize: 11 }}>
          {spec.name}
        </Typography.Text>
      )}
    </span>
  );
}

function control(spec: FieldSpec, disabled: boolean, t: ReturnType<typeof useT>): ReactNode {
  const dis = disabled || !spec.editable;
  switch (spec.kind) {
    case 'input':
      return <Input placeholder={spec.placeholder} disabled={dis} />;
    case 'textarea':
      return <Input.TextArea placeholder={spec.placeholder} disabled={dis} autoSize={{ minRows: 2, maxRows: 12 }} className="cube-mono" />;
    case 'file':
      return (
        <Input.TextArea
          placeholder={spec.placeholder ?? t('editor.arg.filePlaceholder')}
          disabled={dis}
          autoSize={{ minRows: 1, maxRows: 12 }}
          className="cube-mono"
        />
      );
    // No min/max on the control: it would silently clamp 500 to 100; the range rule says why.
    case 'int':
      return <InputNumber precision={0} placeholder={spec.placeholder} disabled={dis} style={{ width: '100%' }} />;
    case 'float':
      return <InputNumber step={0.1} placeholder={spec.placeholder} disabled={dis} style={{ width: '100%' }} />;
    case 'switch':
      return <Switch disabled={dis} />;
    case 'select':
      return <Select options={spec.options} allowClear={!spec.required} placeholder={spec.placeholder} disabled={dis} />;
    case 'multiselect':
      return <Select mode="multiple" options={spec.options} placeholder={spec.placeholder} disabled={dis} />;
    case 'tags':
      return (
        <Select
          mode="tags"
          tokenSeparators={[',']}
          placeholder={spec.placeholder ?? t('editor.arg.tagsPlaceholder')}
          disabled={dis}
          suffixIcon={null}
          notFoundContent={null}
        />
      );
    case 'json':
      return (
        <Input.TextArea
          placeholder={spec.placeholder ?? (spec.jsonShape === 'array' ? '[ ]' : spec.jsonShape === 'object' ? '{ }' : 'JSON')}
          disabled={dis}
          autoSize={{ minRows: 3, maxRows: 14 }}
          className="cube-mono"
          spellCheck={false}
        />
      );
    default:
      return null;
  }
}

export function ArgField({ spec, path, disabled }: { spec: FieldSpec; path: Path; disabled: boolean }) {
  const t = useT();
  const name: Path = [...path, spec.name];
  if (spec.kind === 'dict') {
    return (
      <fieldset className="cube-arg-group" aria-label={spec.label}>
        <Typography.Text strong>
          <Label spec={spec} />
        </Typography.Text>
        {spec.help && (
          <div>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {spec.help}
            </Typography.Text>
          </div>
        )}
        <div style={{ marginTop: 8 }}>
          {(spec.children ?? []).map((c) => (
            <ArgField key={c.name} spec={c} path={[...path, spec.name]} disabled={disabled || !spec.editable} />
          ))}
        </div>
      </fieldset>
    );
  }
  if (spec.kind === 'dictlist') {
    const children = spec.children ?? [];
    return (
      <Form.Item label={<Label spec={spec} />} extra={extraOf(spec, t)} required={spec.required && spec.editable}>
        <Form.List name={name} rules={spec.rules as ListRules}>
          {(fields, { add, remove }, { errors }) => (
            <>
              {fields.map((f, i) => (
                <Card
                  key={f.key}
                  size="small"
                  title={`#${i + 1}`}
                  style={{ marginBottom: 8 }}
                  extra={
                    <Button
                      type="text"
                      size="small"
                      danger
                      icon={<DeleteOutlined />}
                      aria-label={t('editor.arg.removeItem', { n: i + 1 })}
                      disabled={disabled || !spec.editable}
                      onClick={() => remove(f.name)}
                    />
                  }
                >
                  {children.map((c) => (
                    <ArgField key={c.name} spec={c} path={[f.name]} disabled={disabled || !spec.editable} />
                  ))}
                </Card>
              ))}
              <Button
                type="dashed"
                block
                icon={<PlusOutlined />}
                disabled={disabled || !spec.editable}
                onClick={() => add(initialFormValues(children, {}))}
              >
                {t('editor.arg.addItem')}
              </Button>
              <Form.ErrorList errors={errors} />
            </>
          )}
        </Form.List>
      </Form.Item>
    );
  }
  return (
    <Form.Item
      name={name}
      label={<Label spec={spec} />}
      rules={spec.rules}
      extra={extraOf(spec, t)}
      valuePropName={spec.kind === 'switch' ? 'checked' : 'value'}
      required={spec.required && spec.editable && spec.kind !== 'switch'}
    >
      {control(spec, disabled, t)}
    </Form.Item>
  );
}

// Every arg of a template, grouped as the schema groups them.
export function ArgFields({ specs, disabled }: { specs: FieldSpec[]; disabled: boolean }) {
  const t = useT();
  if (!specs.length) {
    return (
      <Typography.Paragraph type="secondary" style={{ fontSize: 13 }}>
        {t('editor.panel.noArgs')}
      </Typography.Paragraph>
    );
  }
  const groups: { group: string; specs: FieldSpec[] }[] = [];
  for (const s of specs) {
    const last = groups[groups.length - 1];
    if (last && last.group === s.group) last.specs.push(s);
    else groups.push({ group: s.group, specs: [s] });
  }
  return (
    <>
      {groups.map((g) => (
        <section key={g.group} aria-label={g.group}>
          {groups.length > 1 || g.group ? (
            <Typography.Title level={5} style={{ fontSize: 13, margin: '4px 0 8px', color: '#595959' }}>
              {g.group}
            </Typography.Title>
          ) : null}
          {g.specs.map((s) => (
            <ArgField key={s.name} spec={s} path={['args']} disabled={disabled} />
          ))}
        </section>
      ))}
    </>
  );
}
