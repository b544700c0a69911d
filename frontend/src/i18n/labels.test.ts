import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResourceInfo } from '../api';
import { localizeLabel, zhDescriptions, zhInfo, zhLabels } from './labels';

// A C string literal, possibly split over several pieces ("a " "b"), as its text.
const cString = (src: string) =>
  JSON.parse(`"${[...src.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]).join('')}"`) as string;

// The texts the server's resource tables send: column and resource labels, menu titles, action
// names and confirmations, column descriptions (fcgi/res/*.c, and res.h's shared columns), and
// the generic delete action (fcgi/api/info.c).
function serverTexts(): { labels: string[]; descriptions: string[] } {
  const root = path.resolve(__dirname, '../../../fcgi');
  const files = readdirSync(path.join(root, 'res'))
    .filter((f) => f.endsWith('.c') || f.endsWith('.h'))
    .map((f) => readFileSync(path.join(root, 'res', f), 'utf8'));
  const out = new Set<string>();
  const descriptions = new Set<string>();
  for (const src of files) {
    for (const m of src.matchAll(/\.description = ((?:"(?:[^"\\]|\\.)*"[\s\\]*)+)/g)) descriptions.add(cString(m[1]));
    for (const m of src.matchAll(/\.label = "([^"]+)"/g)) out.add(m[1]);
    for (const m of src.matchAll(/\.menu = \{"[a-z]+", "[^"]+", "([^"]+)"/g)) out.add(m[1]);
    for (const m of src.matchAll(/(?<!\.menu = )\{"[a-z_]+", "([^"]+)", "([^"]+)", "fa-/g)) {
      out.add(m[1]);
      out.add(m[2]);
    }
  }
  const info = readFileSync(path.join(root, 'api', 'info.c'), 'utf8');
  for (const m of info.matchAll(/"(text|confirmation)",\s*json_object_new_string\("([^"]+)"\)/g)) out.add(m[2]);
  return { labels: [...out], descriptions: [...descriptions] };
}

describe('labels in Chinese', () => {
  it('has a translation for every text the server tables send', () => {
    const { labels, descriptions } = serverTexts();
    expect(labels.length).toBeGreaterThan(100);
    expect(labels.filter((s) => !(s in zhLabels))).toEqual([]);
    expect(descriptions.length).toBeGreaterThan(40);
    expect(descriptions).toContain('what a project\'s expand names: {"cluster": "<name>"}');
    expect(descriptions.filter((s) => !(s in zhDescriptions))).toEqual([]);
  });

  it('leaves English alone and unknown texts as they are', () => {
    expect(localizeLabel('Name', 'en')).toBe('Name');
    expect(localizeLabel('Name', 'zh')).toBe('名称');
    expect(localizeLabel('Something new', 'zh')).toBe('Something new');
  });

  it('translates an _info document: labels, titles, fields, actions', () => {
    const info = {
      label_title: 'Project',
      list_title: 'Project list',
      add_title: 'Add Project',
      edit_title: 'Edit Project',
      show_title: 'Show Project',
      label_columns: { name: 'Name', odd: 'Odd one' },
      description_columns: { name: 'unique project name' },
      add_columns: [{ name: 'name', label: 'Name', description: 'unique project name' }],
      edit_columns: [{ name: 'name', label: 'Name' }],
      action: { muldelete: { name: 'muldelete', text: 'Delete', confirmation: 'Delete the selected records?' } },
    } as unknown as ResourceInfo;
    const zh = zhInfo(info);
    expect([zh.label_title, zh.list_title, zh.add_title, zh.edit_title, zh.show_title]).toEqual(['项目', '项目列表', '添加项目', '编辑项目', '项目详情']);
    expect(zh.label_columns).toEqual({ name: '名称', odd: 'Odd one' });
    expect(zh.add_columns[0]).toMatchObject({ label: '名称', description: '唯一的项目名称' });
    expect(zh.description_columns).toEqual({ name: '唯一的项目名称' });
    expect(zh.action.muldelete).toMatchObject({ text: '删除', confirmation: '删除所选记录？' });
    expect(info.label_columns.name).toBe('Name'); // the cached document is not changed
  });
});
