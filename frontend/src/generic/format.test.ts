import { beforeAll, describe, expect, it } from 'vitest';
import { formatTime, fromLocalInput, isRelation, plainText, relationLabel, toLocalInput, truncate } from './format';
import { viewForTable, viewsFromOpenapi } from './related';

beforeAll(() => {
  process.env.TZ = 'Asia/Shanghai'; // UTC+8, no daylight saving
});

describe('times', () => {
  it('a zoneless server time is UTC', () => {
    expect(formatTime('2026-11-30T02:38:48')).toBe('2026-11-30 10:38:48');
    expect(formatTime('2026-11-30T23:00:00+00:00')).toBe('2026-12-01 07:00:00');
    expect(formatTime('2026-11-30T02:38:48.123456+00:00')).toBe('2026-11-30 10:38:48');
    expect(formatTime('not a time')).toBe('not a time');
  });
  it('round-trips through a datetime-local input', () => {
    expect(toLocalInput('2026-11-30T02:38:48')).toBe('2026-11-30T10:38');
    expect(fromLocalInput('2026-11-30T10:38')).toBe('2026-11-30T02:38:00Z');
    expect(fromLocalInput('garbage')).toBeNull();
  });
});

describe('relations', () => {
  it('are the id and one display column', () => {
    expect(isRelation({ id: 1, username: 'admin' })).toBe(true);
    expect(isRelation({ id: 1, name: 'a', extra: 2 })).toBe(false);
    expect(isRelation({ engine: 'argo' })).toBe(false);
    expect(isRelation({})).toBe(false);
    expect(relationLabel({ id: 1, username: 'admin' })).toBe('admin');
    expect(plainText([{ id: 1, name: 'admin' }, { id: 2, name: 'dev' }])).toBe('admin, dev');
    expect(plainText({ engine: 'argo' })).toBe('{"engine":"argo"}');
  });
});

describe('truncate', () => {
  it('cuts at characters', () => {
    expect(truncate('abcdef', 3)).toEqual({ text: 'abc…', cut: true });
    expect(truncate('😀😀😀', 2)).toEqual({ text: '😀😀…', cut: true });
    expect(truncate('abc', 3)).toEqual({ text: 'abc', cut: false });
  });
});

describe('related tables to views', () => {
  const views = viewsFromOpenapi({
    paths: {
      '/api/project_modelview/_info': {},
      '/api/project_modelview/': {},
      '/api/users/_info': {},
      '/api/roles/_info': {},
      '/api/images_modelview/_info': {},
      '/api/workflow_modelview/_info': {},
    },
  });
  it('reads the views from the OpenAPI paths', () => {
    expect(views).toEqual(['project_modelview', 'users', 'roles', 'images_modelview', 'workflow_modelview']);
  });
  it.each([
    ['project', 'project_modelview'],
    ['users', 'users'],
    ['roles', 'roles'],
    ['images', 'images_modelview'],
    ['run', 'workflow_modelview'],
  ])('%s → %s', (table, view) => {
    expect(viewForTable(table, views)).toBe(view);
  });
});
