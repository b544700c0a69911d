// The pipeline settings form <-> the pipeline row. Only fields that really changed are sent:
// the server treats any written schedule field (cron_time, timezone, schedule_type,
// cronjob_start_time) as a new schedule and re-anchors its ticks, even if the value is the same.
import type { Pipeline } from './model';

export interface SettingsValues {
  name: string;
  describe: string;
  schedule_type: 'once' | 'crontab';
  cron_time: string;
  timezone: string;
  // <input type="datetime-local"> text in the browser's zone, '' for none.
  cronjob_start_time: string;
  depends_on_past: boolean;
  max_active_runs: number;
  expired_limit: number;
  parallelism: number;
  alert_status: string[];
  alert_user: string[];
  global_env: string;
  // JSON text of an object.
  parameter: string;
}

export const ALERT_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'skipped'] as const;

const pad = (n: number) => String(n).padStart(2, '0');

// The server answers times in UTC without an offset ("2026-12-01T02:00:00").
export function serverTimeToLocalInput(s: string | null | undefined): string {
  if (!s) return '';
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function localInputToServerTime(s: string): string | null {
  if (!s) return null;
  const d = new Date(s); // datetime-local text without a zone is read as local time
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function splitList(s: string | null | undefined): string[] {
  return (s ?? '')
    .split(/[,\s]+/)
    .map((x) => x.trim())
    .filter(Boolean);
}

export function pipelineToSettings(p: Pipeline): SettingsValues {
  return {
    name: p.name,
    describe: p.describe ?? '',
    schedule_type: p.schedule_type === 'crontab' ? 'crontab' : 'once',
    cron_time: p.cron_time ?? '',
    timezone: p.timezone || 'UTC',
    cronjob_start_time: serverTimeToLocalInput(p.cronjob_start_time),
    depends_on_past: !!p.depends_on_past,
    max_active_runs: p.max_active_runs,
    expired_limit: p.expired_limit,
    parallelism: p.parallelism,
    alert_status: splitList(p.alert_status),
    alert_user: splitList(p.alert_user),
    global_env: p.global_env ?? '',
    parameter: p.parameter && typeof p.parameter === 'object' && Object.keys(p.parameter).length ? JSON.stringify(p.parameter, null, 2) : '',
  };
}

// The PUT body for what differs between the stored pipeline and the form.
export function settingsDiff(p: Pipeline, v: SettingsValues): Record<string, unknown> {
  const before = pipelineToSettings(p);
  const body: Record<string, unknown> = {};
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  for (const k of ['name', 'describe', 'schedule_type', 'timezone', 'depends_on_past', 'max_active_runs', 'expired_limit', 'parallelism', 'global_env'] as const)
    if (!same(before[k], v[k])) body[k] = v[k];
  if ((before.cron_time ?? '').trim() !== (v.cron_time ?? '').trim()) body.cron_time = (v.cron_time ?? '').trim();
  if (before.cronjob_start_time !== v.cronjob_start_time) body.cronjob_start_time = localInputToServerTime(v.cronjob_start_time);
  if (!same(before.alert_status, v.alert_status)) body.alert_status = v.alert_status.join(',');
  if (!same(before.alert_user, v.alert_user)) body.alert_user = v.alert_user.join(',');
  if (before.parameter.trim() !== (v.parameter ?? '').trim()) {
    const text = (v.parameter ?? '').trim();
    try {
      body.parameter = text ? JSON.parse(text) : {};
    } catch {
      body.parameter = text; // the server names the problem
    }
  }
  return body;
}
