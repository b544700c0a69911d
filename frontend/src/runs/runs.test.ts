import { describe, expect, it } from 'vitest';
import { dagShape, layoutDag, NODE_H, NODE_W } from './layout';
import { LogBuffer } from './logBuffer';
import { findEnd, tailLog, type TailStatus } from './logTail';
import type { LogChunk } from './runApi';
import {
  canClear,
  canRerun,
  canStop,
  formatDuration,
  formatKiB,
  formatSeconds,
  isRunTerminal,
  isTaskTerminal,
  parseTime,
  stateLook,
} from './states';

describe('states', () => {
  it('knows which states are final', () => {
    expect(isRunTerminal('succeeded')).toBe(true);
    expect(isRunTerminal('cancelling')).toBe(false);
    expect(isRunTerminal('something-new')).toBe(false);
    expect(isTaskTerminal('upstream_failed')).toBe(true);
    expect(isTaskTerminal('up_for_retry')).toBe(false);
  });
  it('follows the scheduler rules for stop, re-run and clear', () => {
    expect(canStop('running')).toBe(true);
    expect(canStop('cancelling')).toBe(false);
    expect(canRerun('failed')).toBe(true);
    expect(canRerun('succeeded')).toBe(false);
    expect(canClear('succeeded', 'running')).toBe(true);
    expect(canClear('running', 'running')).toBe(false);
    expect(canClear('failed', 'cancelling')).toBe(false);
  });
  it('colours states as the brief says', () => {
    expect(stateLook('pending').tag).toBe('default');
    expect(stateLook('running').spin).toBe(true);
    expect(stateLook('up_for_retry').tag).toBe('warning');
    expect(stateLook('succeeded').tag).toBe('success');
    expect(stateLook('upstream_failed').tag).toBe('error');
    expect(stateLook('cancelled').dashed).toBe(true);
  });
  it('reads zone-less API times as UTC', () => {
    expect(parseTime('2026-01-31T02:00:00')).toBe(Date.UTC(2026, 0, 31, 2));
    expect(parseTime('2026-01-31T02:00:00+00:00')).toBe(Date.UTC(2026, 0, 31, 2));
    expect(parseTime(null)).toBeNull();
    expect(parseTime('nope')).toBeNull();
  });
  it('formats durations and sizes', () => {
    expect(formatDuration('2026-01-01T00:00:00', '2026-01-01T01:02:03')).toBe('1h 02m 03s');
    expect(formatDuration('2026-01-01T00:00:00', null, Date.UTC(2026, 0, 1, 0, 2, 5))).toBe('2m 05s');
    expect(formatDuration(null, null)).toBe('');
    expect(formatSeconds(4.25)).toBe('4.3s');
    expect(formatKiB(3044)).toBe('3.0 MiB');
    expect(formatKiB(null)).toBe('');
  });
});

describe('LogBuffer', () => {
  it('joins chunks split in the middle of a line', () => {
    const b = new LogBuffer();
    b.append('one\ntw');
    b.append('o\nthree');
    expect(b.text()).toBe('one\ntwo\nthree');
    expect(b.lineCount()).toBe(3);
  });
  it('keeps only the last lines and counts the dropped ones', () => {
    const b = new LogBuffer(3);
    b.append('1\n2\n3\n4\n5\n');
    expect(b.text()).toBe('3\n4\n5');
    expect(b.dropped).toBe(2);
  });
  it('shows what follows a carriage return, as a terminal does', () => {
    const b = new LogBuffer();
    b.append('10%\r50%\r100%\r\ndone\n');
    expect(b.text()).toBe('100%\ndone');
  });
  it('drops the partial first line after a jump into the middle', () => {
    const b = new LogBuffer();
    b.startMidway(1000);
    b.append('ial line\nwhole\n');
    expect(b.text()).toBe('whole');
    expect(b.skippedBytes).toBe(1000);
  });
});

// A log on the "server": `content` grows while `running`; the API's answer for an offset.
function fakeLog(content: string, opts: { chunk: number }) {
  const state = { content, finished: false, calls: [] as number[] };
  const fetch = async (offset: number): Promise<LogChunk> => {
    state.calls.push(offset);
    const data = state.content.slice(offset, offset + opts.chunk);
    const next = offset + data.length;
    return { data, offset, next, eof: state.finished && next >= state.content.length, attempt: 'a' };
  };
  return { state, fetch };
}

describe('tailLog', () => {
  it('follows a growing log until the attempt ends', async () => {
    const log = fakeLog('a\n', { chunk: 4 });
    const b = new LogBuffer();
    const statuses: TailStatus[] = [];
    let sleeps = 0;
    await tailLog({
      fetch: log.fetch,
      buffer: b,
      onUpdate: () => {},
      onStatus: (s) => statuses.push(s),
      sleep: async () => {
        sleeps += 1;
        if (sleeps === 1) log.state.content += 'bb\ncc\n';
        if (sleeps === 2) log.state.finished = true;
      },
      stopped: () => false,
      attemptDone: () => false,
      chunkBytes: 4,
      keepBytes: 1000,
    });
    expect(b.text()).toBe('a\nbb\ncc');
    expect(statuses[statuses.length - 1]).toBe('done');
    expect(statuses).toContain('following');
  });

  it('reads only the end of a large log', async () => {
    const lines = Array.from({ length: 20000 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const log = fakeLog(lines, { chunk: 1000 });
    log.state.finished = true;
    const b = new LogBuffer(100);
    await tailLog({
      fetch: log.fetch,
      buffer: b,
      onUpdate: () => {},
      onStatus: () => {},
      sleep: async () => {},
      stopped: () => false,
      attemptDone: () => true,
      chunkBytes: 1000,
      keepBytes: 5000,
    });
    const shown = b.text().split('\n');
    expect(shown[shown.length - 1]).toBe('line 19999');
    expect(shown.length).toBe(100);
    expect(b.skippedBytes).toBeGreaterThan(lines.length - 7000);
    // Far fewer requests than reading the ~190 KB from the start in 1 KB chunks.
    expect(log.state.calls.length).toBeLessThan(30);
  });

  it('finds the size of a log by probing', async () => {
    const log = fakeLog('x'.repeat(123_456), { chunk: 1000 });
    expect(await findEnd(log.fetch, 1000, 1000)).toBe(123_456);
  });

  it('stops on a lost attempt that never reports eof', async () => {
    const log = fakeLog('only\n', { chunk: 100 });
    const b = new LogBuffer();
    let done = false;
    const statuses: TailStatus[] = [];
    await tailLog({
      fetch: log.fetch,
      buffer: b,
      onUpdate: () => {},
      onStatus: (s) => statuses.push(s),
      sleep: async () => {
        done = true;
      },
      stopped: () => false,
      attemptDone: () => done,
    });
    expect(b.text()).toBe('only');
    expect(statuses[statuses.length - 1]).toBe('done');
  });
});

describe('DAG layout', () => {
  const snapshot = {
    order: ['a', 'b', 'c'],
    tasks: { a: { upstream: [] }, b: { upstream: ['a'] }, c: { upstream: ['a', 'b', 'gone'] } },
  };
  it('takes nodes and edges from the snapshot, plus unknown task instances', () => {
    const s = dagShape(snapshot, ['extra', 'a']);
    expect(s.names).toEqual(['a', 'b', 'c', 'extra']);
    expect(s.edges).toEqual([
      ['a', 'b'],
      ['a', 'c'],
      ['b', 'c'],
    ]);
  });
  it('lays the graph out top to bottom', () => {
    const p = layoutDag(dagShape(snapshot));
    expect(p.a.y).toBeLessThan(p.b.y);
    expect(p.b.y).toBeLessThan(p.c.y);
    expect(p.b.y - p.a.y).toBeGreaterThanOrEqual(NODE_H);
    expect(Number.isFinite(p.c.x + NODE_W)).toBe(true);
  });
});
