// States of runs and task instances (fcgi/sched's state machine), how each one looks, and the
// time helpers the run pages share. Pure functions, so they are unit-tested without a browser.

export type RunState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelling' | 'cancelled' | 'skipped';
export type TaskState =
  | 'pending'
  | 'scheduled'
  | 'submitting'
  | 'running'
  | 'up_for_retry'
  | 'succeeded'
  | 'failed'
  | 'upstream_failed'
  | 'skipped'
  | 'cancelled';

const RUN_TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);
const TASK_TERMINAL = new Set(['succeeded', 'failed', 'upstream_failed', 'skipped', 'cancelled']);

// A state we do not know (a newer server) counts as live: polling a little too long is
// harmless, freezing a page that is still changing is not.
export function isRunTerminal(state: unknown): boolean {
  return typeof state === 'string' && RUN_TERMINAL.has(state);
}
export function isTaskTerminal(state: unknown): boolean {
  return typeof state === 'string' && TASK_TERMINAL.has(state);
}
export const LIVE_RUN_STATES: RunState[] = ['queued', 'running', 'cancelling'];

// The rules of fcgi/sched/sched.c, so buttons are disabled rather than answered with a 409.
export function canStop(state: unknown): boolean {
  return state === 'queued' || state === 'running';
}
export function canRerun(state: unknown): boolean {
  return state === 'failed' || state === 'cancelled';
}
export function canClear(taskState: unknown, runState: unknown): boolean {
  return isTaskTerminal(taskState) && runState !== 'cancelling' && runState !== 'skipped';
}

export interface StateLook {
  // antd Tag colour (preset name or hex).
  tag: string;
  // DAG node fill, border and text.
  bg: string;
  border: string;
  fg: string;
  spin?: boolean;
  dashed?: boolean;
}

const GREY: StateLook = { tag: 'default', bg: '#f0f0f0', border: '#8c8c8c', fg: '#434343' };
const BLUE: StateLook = { tag: 'processing', bg: '#e6f4ff', border: '#1677ff', fg: '#0958d9', spin: true };
const GREEN: StateLook = { tag: 'success', bg: '#f6ffed', border: '#52c41a', fg: '#389e0d' };
const RED: StateLook = { tag: 'error', bg: '#fff1f0', border: '#ff4d4f', fg: '#cf1322' };
const ORANGE: StateLook = { tag: 'warning', bg: '#fff7e6', border: '#fa8c16', fg: '#d46b08' };
const LIGHT: StateLook = { tag: 'default', bg: '#fafafa', border: '#d9d9d9', fg: '#8c8c8c', dashed: true };

const LOOKS: Record<string, StateLook> = {
  pending: GREY,
  scheduled: GREY,
  queued: GREY,
  submitting: BLUE,
  running: BLUE,
  cancelling: { ...ORANGE, spin: true },
  up_for_retry: ORANGE,
  succeeded: GREEN,
  failed: RED,
  upstream_failed: RED,
  skipped: LIGHT,
  cancelled: LIGHT,
};

export function stateLook(state: unknown): StateLook {
  return (typeof state === 'string' && LOOKS[state]) || GREY;
}

// The API writes times as UTC without a zone ("2026-01-31T02:42:14"), and attempts as
// timestamptz JSON ("...+00:00"); both become epoch milliseconds here.
export function parseTime(v: unknown): number | null {
  if (typeof v !== 'string' || !v) return null;
  const zoned = /(Z|[+-]\d\d:?\d\d)$/.test(v);
  const ms = Date.parse(zoned ? v : `${v.replace(' ', 'T')}Z`);
  return Number.isNaN(ms) ? null : ms;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

// Local time, to the second, in one fixed shape whatever the browser's locale.
export function formatTime(v: unknown): string {
  const ms = parseTime(v);
  if (ms === null) return '';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// "1h 02m 03s", "2m 05s", "4.2s"; '' when there is no start.
export function formatDuration(start: unknown, end: unknown, now: number = Date.now()): string {
  const s = parseTime(start);
  if (s === null) return '';
  const e = parseTime(end) ?? now;
  const secs = Math.max(0, (e - s) / 1000);
  return formatSeconds(secs);
}

export function formatSeconds(secs: number): string {
  if (secs < 10) return `${secs.toFixed(1)}s`;
  const total = Math.round(secs);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h) return `${h}h ${pad(m)}m ${pad(sec)}s`;
  if (m) return `${m}m ${pad(sec)}s`;
  return `${sec}s`;
}

export function formatKiB(kb: unknown): string {
  if (typeof kb !== 'number' || !Number.isFinite(kb)) return '';
  if (kb < 1024) return `${kb} KiB`;
  if (kb < 1024 * 1024) return `${(kb / 1024).toFixed(1)} MiB`;
  return `${(kb / 1024 / 1024).toFixed(2)} GiB`;
}

export function formatCpu(secs: unknown): string {
  if (typeof secs !== 'number' || !Number.isFinite(secs)) return '';
  return formatSeconds(secs);
}
