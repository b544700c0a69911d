// Pipeline settings: description, schedule (with the next fire times of the cron expression as
// the server computes them), concurrency, alerts, global environment and parameters.
import { useEffect, useMemo, useRef, useState } from 'react';
import { Button, Drawer, Form, Input, InputNumber, Radio, Select, Space, Switch, Typography } from 'antd';
import { ApiError } from '../api';
import { useI18n, useT } from '../i18n';
import { nameRules } from './graph';
import { cronPreview, type Pipeline } from './model';
import { ALERT_STATES, pipelineToSettings, type SettingsValues } from './settings';

interface Props {
  open: boolean;
  pipeline: Pipeline;
  draft: SettingsValues | null;
  readOnly: boolean;
  saving: boolean;
  onChange: (values: SettingsValues) => void;
  onClose: () => void;
  onSave: () => Promise<boolean>;
}

let zoneCache: string[] | null = null;
function timeZones(): string[] {
  if (!zoneCache) {
    let zones: string[] = [];
    try {
      zones = Intl.supportedValuesOf('timeZone');
    } catch {
      zones = [];
    }
    zoneCache = zones.includes('UTC') ? zones : ['UTC', ...zones];
  }
  return zoneCache;
}

function formatFire(iso: string, tz: string, locale: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const opts: Intl.DateTimeFormatOptions = {
    weekday: 'short',
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  };
  try {
    return new Intl.DateTimeFormat(locale, { ...opts, timeZone: tz }).format(d);
  } catch {
    return new Intl.DateTimeFormat(locale, opts).format(d);
  }
}

function relative(iso: string, locale: string): string {
  const ms = new Date(iso).getTime() - Date.now();
  if (Number.isNaN(ms)) return '';
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  const min = Math.round(ms / 60000);
  if (Math.abs(min) < 60) return rtf.format(min, 'minute');
  const h = Math.round(ms / 3600000);
  if (Math.abs(h) < 48) return rtf.format(h, 'hour');
  return rtf.format(Math.round(ms / 86400000), 'day');
}

type Preview = { state: 'idle' } | { state: 'loading' } | { state: 'ok'; next: string[] } | { state: 'error'; message: string };

// The next fire times of (cron, tz), asked of the server a moment after typing stops.
function useCronPreview(cron: string | undefined, tz: string | undefined, enabled: boolean): Preview {
  const [p, setP] = useState<Preview>({ state: 'idle' });
  useEffect(() => {
    const expr = (cron ?? '').trim();
    if (!enabled || !expr) {
      setP({ state: 'idle' });
      return;
    }
    const ctl = new AbortController();
    setP({ state: 'loading' });
    const timer = setTimeout(() => {
      cronPreview(expr, (tz ?? '').trim() || 'UTC', ctl.signal).then(
        (r) => setP({ state: 'ok', next: r.next ?? [] }),
        (e: unknown) => {
          if (ctl.signal.aborted) return;
          setP({ state: 'error', message: e instanceof ApiError || e instanceof Error ? e.message : String(e) });
        },
      );
    }, 350);
    return () => {
      clearTimeout(timer);
      ctl.abort();
    };
  }, [cron, tz, enabled]);
  return p;
}

export function SettingsDrawer({ open, pipeline, draft, readOnly, saving, onChange, onClose, onSave }: Props) {
  const t = useT();
  const { lang } = useI18n();
  const locale = lang === 'zh' ? 'zh-CN' : 'en-US';
  const [form] = Form.useForm<SettingsValues>();
  const initial = useMemo(() => draft ?? pipelineToSettings(pipeline), [draft, pipeline]);
  const scheduleType = Form.useWatch('schedule_type', form);
  const cron = Form.useWatch('cron_time', form);
  const tz = Form.useWatch('timezone', form);
  const preview = useCronPreview(cron, tz, open && scheduleType === 'crontab');
  const zones = useMemo(() => {
    const list = timeZones();
    const cur = initial.timezone;
    return (cur && !list.includes(cur) ? [cur, ...list] : list).map((z) => ({ label: z, value: z }));
  }, [initial.timezone]);

  // The drawer opens on the draft (or the stored pipeline) each time; while it is open the form
  // itself holds the values.
  const initialRef = useRef(initial);
  initialRef.current = initial;
  useEffect(() => {
    if (open) form.setFieldsValue(initialRef.current);
  }, [open, form]);

  const submit = async () => {
    try {
      await form.validateFields();
    } catch {
      return;
    }
    if (await onSave()) onClose();
  };

  const cronError = preview.state === 'error' ? preview.message : undefined;
  return (
    <Drawer
      title={t('editor.settings.title')}
      open={open}
      onClose={onClose}
      width={520}
      forceRender
      footer={
        !readOnly && (
          <Space style={{ justifyContent: 'flex-end', width: '100%' }}>
            <Button onClick={onClose}>{t('editor.close')}</Button>
            <Button type="primary" loading={saving} onClick={submit} data-testid="settings-save">
              {t('editor.save')}
            </Button>
          </Space>
        )
      }
    >
      <Form<SettingsValues>
        form={form}
        name="settings"
        layout="vertical"
        initialValues={initial}
        disabled={readOnly}
        onValuesChange={() => onChange(form.getFieldsValue(true) as SettingsValues)}
        onFinish={submit}
      >
        <Form.Item label={t('editor.settings.project')}>
          <Typography.Text>{pipeline.project.name}</Typography.Text>
        </Form.Item>
        <Form.Item
          name="name"
          label={t('editor.settings.name')}
          extra={t('editor.task.nameHelp')}
          rules={nameRules(t)}
        >
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="describe" label={t('editor.settings.describe')} rules={[{ max: 500, message: t('editor.task.tooLong', { n: 500 }) }]}>
          <Input.TextArea autoSize={{ minRows: 2, maxRows: 6 }} />
        </Form.Item>

        <Typography.Title level={5}>{t('editor.settings.schedule')}</Typography.Title>
        <Form.Item name="schedule_type" label={t('editor.settings.scheduleType')}>
          <Radio.Group
            optionType="button"
            options={[
              { label: t('editor.settings.once'), value: 'once' },
              { label: t('editor.settings.crontab'), value: 'crontab' },
            ]}
          />
        </Form.Item>
        {scheduleType === 'crontab' && (
          <>
            <Form.Item
              name="cron_time"
              label={t('editor.settings.cron')}
              rules={[{ required: true, whitespace: true, message: t('editor.settings.cronRequired') }]}
              validateStatus={cronError ? 'error' : undefined}
              help={cronError ? <span data-testid="cron-error">{cronError}</span> : undefined}
              extra={t('editor.settings.cronHelp')}
            >
              <Input placeholder="0 3 * * *" autoComplete="off" className="cube-mono" data-testid="cron-input" />
            </Form.Item>
            <div data-testid="cron-preview" aria-live="polite" style={{ margin: '-8px 0 16px' }}>
              {preview.state === 'loading' && <Typography.Text type="secondary">{t('editor.settings.previewLoading')}</Typography.Text>}
              {preview.state === 'ok' && (
                <>
                  <Typography.Text type="secondary">{t('editor.settings.nextRuns')}</Typography.Text>
                  {preview.next.length === 0 ? (
                    <div>
                      <Typography.Text type="secondary">{t('editor.settings.noNext')}</Typography.Text>
                    </div>
                  ) : (
                    <ol style={{ margin: '4px 0 0', paddingInlineStart: 20 }}>
                      {preview.next.map((iso) => (
                        <li key={iso} data-time={iso}>
                          {formatFire(iso, (tz ?? '').trim() || 'UTC', locale)}{' '}
                          <Typography.Text type="secondary">({relative(iso, locale)})</Typography.Text>
                        </li>
                      ))}
                    </ol>
                  )}
                </>
              )}
            </div>
            <Form.Item name="timezone" label={t('editor.settings.timezone')} extra={t('editor.settings.timezoneHelp')}>
              <Select showSearch options={zones} optionFilterProp="label" data-testid="timezone-select" />
            </Form.Item>
            <Form.Item name="cronjob_start_time" label={t('editor.settings.startTime')} extra={t('editor.settings.startTimeHelp')}>
              <Input type="datetime-local" />
            </Form.Item>
            <Form.Item name="depends_on_past" label={t('editor.settings.dependsOnPast')} extra={t('editor.settings.dependsOnPastHelp')} valuePropName="checked">
              <Switch />
            </Form.Item>
            <Form.Item name="expired_limit" label={t('editor.settings.expiredLimit')} extra={t('editor.settings.expiredLimitHelp')}>
              <InputNumber min={0} max={100000} precision={0} style={{ width: '100%' }} />
            </Form.Item>
          </>
        )}

        <Typography.Title level={5}>{t('editor.settings.concurrency')}</Typography.Title>
        <div style={{ display: 'flex', gap: 12 }}>
          <Form.Item name="max_active_runs" label={t('editor.settings.maxActiveRuns')} style={{ flex: 1 }} rules={[{ required: true, message: t('editor.settings.numberRequired') }]}>
            <InputNumber min={1} max={1000} precision={0} style={{ width: '100%' }} />
          </Form.Item>
          <Form.Item
            name="parallelism"
            label={t('editor.settings.parallelism')}
            tooltip={t('editor.settings.parallelismHelp')}
            style={{ flex: 1 }}
            rules={[{ required: true, message: t('editor.settings.numberRequired') }]}
          >
            <InputNumber min={1} max={1000} precision={0} style={{ width: '100%' }} />
          </Form.Item>
        </div>

        <Typography.Title level={5}>{t('editor.settings.alerts')}</Typography.Title>
        <Form.Item name="alert_status" label={t('editor.settings.alertStatus')}>
          <Select mode="multiple" options={ALERT_STATES.map((s) => ({ label: t(`editor.state.${s}`), value: s }))} />
        </Form.Item>
        <Form.Item name="alert_user" label={t('editor.settings.alertUser')} extra={t('editor.settings.alertUserHelp')}>
          <Select mode="tags" tokenSeparators={[',', ' ']} suffixIcon={null} notFoundContent={null} />
        </Form.Item>

        <Typography.Title level={5}>{t('editor.settings.environment')}</Typography.Title>
        <Form.Item name="global_env" label={t('editor.settings.globalEnv')} extra={t('editor.settings.globalEnvHelp')}>
          <Input.TextArea autoSize={{ minRows: 3, maxRows: 10 }} className="cube-mono" placeholder={'KEY=value'} spellCheck={false} />
        </Form.Item>
        <Form.Item
          name="parameter"
          label={t('editor.settings.parameter')}
          extra={t('editor.settings.parameterHelp')}
          rules={[
            {
              validator: (_r, v: string) => {
                if (!v || !v.trim()) return Promise.resolve();
                try {
                  const o: unknown = JSON.parse(v);
                  return o && typeof o === 'object' && !Array.isArray(o)
                    ? Promise.resolve()
                    : Promise.reject(new Error(t('editor.arg.jsonObject')));
                } catch (e) {
                  return Promise.reject(new Error(t('editor.arg.badJson', { error: (e as Error).message })));
                }
              },
            },
          ]}
        >
          <Input.TextArea autoSize={{ minRows: 2, maxRows: 10 }} className="cube-mono" placeholder="{ }" spellCheck={false} />
        </Form.Item>
        <button type="submit" hidden aria-hidden />
      </Form>
    </Drawer>
  );
}
