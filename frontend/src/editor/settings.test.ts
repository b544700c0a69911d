// Pipeline settings: only what changed is sent (any written schedule field re-anchors the
// server's cron ticks, see pipeline_pre_write in res_pipeline.c).
import { describe, expect, it } from 'vitest';
import type { Pipeline } from './model';
import { localInputToServerTime, pipelineToSettings, serverTimeToLocalInput, settingsDiff } from './settings';

const stored: Pipeline = {
  id: 7,
  project: { id: 3, name: 'demo' },
  name: 'nightly',
  describe: '',
  dag_json: {},
  expand: [],
  global_env: 'A=1',
  schedule_type: 'crontab',
  cron_time: '0 3 * * *',
  cronjob_start_time: '2026-12-01T02:00:00',
  timezone: 'Asia/Shanghai',
  depends_on_past: false,
  max_active_runs: 3,
  expired_limit: 0,
  parallelism: 1,
  alert_status: 'failed,succeeded',
  alert_user: 'ann,bob',
  parameter: { k: 1 },
  created_by: { id: 1, username: 'admin' },
};

describe('settings', () => {
  it('sends nothing when nothing changed', () => {
    expect(settingsDiff(stored, pipelineToSettings(stored))).toEqual({});
  });

  it('sends only the changed fields, in the server formats', () => {
    const v = {
      ...pipelineToSettings(stored),
      parallelism: 4,
      alert_status: ['failed'],
      alert_user: ['ann', 'carl'],
      parameter: '{"k": 2}',
    };
    expect(settingsDiff(stored, v)).toEqual({
      parallelism: 4,
      alert_status: 'failed',
      alert_user: 'ann,carl',
      parameter: { k: 2 },
    });
  });

  it('does not resend a cron expression that only differs in outer spaces', () => {
    expect(settingsDiff(stored, { ...pipelineToSettings(stored), cron_time: ' 0 3 * * * ' })).toEqual({});
    expect(settingsDiff(stored, { ...pipelineToSettings(stored), cron_time: '*/5 * * * *' })).toEqual({ cron_time: '*/5 * * * *' });
  });

  it('splits the comma lists the server stores', () => {
    const s = pipelineToSettings(stored);
    expect(s.alert_status).toEqual(['failed', 'succeeded']);
    expect(s.alert_user).toEqual(['ann', 'bob']);
    expect(JSON.parse(s.parameter)).toEqual({ k: 1 });
    expect(pipelineToSettings({ ...stored, parameter: {}, alert_user: '' }).parameter).toBe('');
    expect(pipelineToSettings({ ...stored, parameter: {}, alert_user: '' }).alert_user).toEqual([]);
  });

  it('reads server times as UTC and writes the browser-local input back as an instant', () => {
    const local = serverTimeToLocalInput('2026-12-01T02:00:00');
    expect(local).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d$/);
    expect(localInputToServerTime(local)).toBe('2026-12-01T02:00:00.000Z');
    expect(serverTimeToLocalInput(null)).toBe('');
    expect(localInputToServerTime('')).toBeNull();
    // Clearing the start time sends null.
    expect(settingsDiff(stored, { ...pipelineToSettings(stored), cronjob_start_time: '' })).toEqual({ cronjob_start_time: null });
  });
});
