// The descriptors below are copied from what GET /api/<view>/_info answers (project_modelview,
// pipeline_modelview, project_user_modelview, users, repository_modelview, token_modelview);
// the expectations are worked out from what each descriptor says, not from this code's output.
import { beforeAll, describe, expect, it } from 'vitest';
import type { RuleObject } from 'antd/es/form';
import { fieldErrorsFrom, fieldKind, fieldSpec, initialValues, OMIT, prettyJson, submitValues, type FieldInfo } from './fieldSpec';

beforeAll(() => {
  // Datetime conversions are checked in a zone 8 hours east of UTC.
  process.env.TZ = 'Asia/Shanghai';
});

// Messages as "key|var=value,...", so a test can see which message and with what.
const t = (key: string, vars?: Record<string, string | number>) =>
  vars ? `${key}|${Object.entries(vars).map(([k, v]) => `${k}=${v}`).join(',')}` : key;

const base = { description: '', required: false, unique: false, validators: [] } as const;
const d = (x: Partial<FieldInfo> & Pick<FieldInfo, 'name' | 'type' | 'ui-type'>): FieldInfo => ({ label: x.name, ...base, ...x }) as FieldInfo;

const projectName = d({
  name: 'name',
  label: 'Name',
  description: 'unique project name',
  type: 'String',
  'ui-type': 'input',
  required: true,
  unique: true,
  validators: [{ type: 'DataRequired' }, { type: 'Length', min: 1, max: 50 }],
});
const projectNameEdit = d({ ...projectName, required: false, validators: [{ type: 'Length', min: 1, max: 50 }] });
const describeText = d({ name: 'describe', label: 'Description', type: 'Text', 'ui-type': 'textArea', validators: [{ type: 'Length', min: null, max: 500 }] });
const projectType = d({
  name: 'type',
  label: 'Type',
  type: 'Enum',
  'ui-type': 'select',
  default: 'org',
  values: [
    { id: 'org', value: 'org' },
    { id: 'job-template', value: 'job-template' },
  ],
});
const expand = d({ name: 'expand', label: 'Settings', type: 'JSON', 'ui-type': 'json', default: '{}' });
const pipelineName = d({
  name: 'name',
  label: 'Name',
  type: 'String',
  'ui-type': 'input',
  required: true,
  validators: [{ type: 'DataRequired' }, { type: 'Length', min: 2, max: 54 }, { type: 'Regexp', regex: '^[a-z][a-z0-9-]*[a-z0-9]$' }],
});
const maxActive = d({ name: 'max_active_runs', label: 'max_active_runs', type: 'Integer', 'ui-type': 'input', default: '3' });
const dependsOnPast = d({ name: 'depends_on_past', type: 'Boolean', 'ui-type': 'radio', default: 'false' });
const active = d({ name: 'active', type: 'Boolean', 'ui-type': 'radio', default: 'true' });
const cronStart = d({ name: 'cronjob_start_time', type: 'DateTime', 'ui-type': 'datePicker' });
const memberProject = d({
  name: 'project',
  label: 'Project',
  type: 'Related',
  'ui-type': 'select',
  required: true,
  validators: [{ type: 'DataRequired' }],
  related: 'project',
  related_display: 'name',
});
const roles = d({ name: 'roles', type: 'RelatedList', 'ui-type': 'select2', related: 'roles', related_display: 'name' });
const userPassword = d({
  name: 'password',
  label: 'Password',
  type: 'String',
  'ui-type': 'input',
  required: true,
  write_only: true,
  validators: [{ type: 'DataRequired' }, { type: 'Length', min: 8, max: 1024 }],
});
const email = d({ name: 'email', label: 'Email', type: 'String', 'ui-type': 'input', validators: [{ type: 'Length', min: null, max: 200 }, { type: 'Regexp', regex: '^([^@ ]+@[^@ ]+)?$' }] });
const cpuShare = d({ name: 'share', label: 'Share', type: 'Float', 'ui-type': 'input', validators: [{ type: 'NumberRange', min: 0, max: 1 }] });

// Runs every rule of a field on a value; the messages of those that refuse it.
async function check(rules: RuleObject[], value: unknown): Promise<string[]> {
  const out: string[] = [];
  for (const r of rules) {
    if (r.required) {
      const empty = value === undefined || value === null || (typeof value === 'string' && (r.whitespace ? value.trim() === '' : value === ''));
      if (empty) out.push(String(r.message));
      continue;
    }
    if (r.validator)
      try {
        await r.validator(r, value, () => undefined);
      } catch (e) {
        out.push((e as Error).message);
      }
  }
  return out;
}

describe('fieldKind: every type/ui-type info.c writes', () => {
  it.each([
    [projectName, 'input'],
    [describeText, 'textarea'],
    [projectType, 'select'],
    [expand, 'json'],
    [maxActive, 'integer'],
    [cpuShare, 'float'],
    [dependsOnPast, 'switch'],
    [cronStart, 'datetime'],
    [memberProject, 'related'],
    [roles, 'relatedMulti'],
    [userPassword, 'password'],
  ] as const)('%s', (desc, kind) => {
    expect(fieldKind(desc)).toBe(kind);
  });

  it('falls back on ui-type for a type it does not know', () => {
    expect(fieldKind(d({ name: 'x', type: 'Whatever', 'ui-type': 'textArea' }))).toBe('textarea');
    expect(fieldKind(d({ name: 'x', type: 'Whatever', 'ui-type': 'json' }))).toBe('json');
    expect(fieldKind(d({ name: 'x', type: 'Whatever', 'ui-type': 'input' }))).toBe('input');
  });
});

describe('validators become rules', () => {
  it('DataRequired + Length 1..50 (a project name, add form)', async () => {
    const s = fieldSpec(projectName, 'add', t);
    expect(s.required).toBe(true);
    expect(await check(s.rules, '')).toEqual(['generic.form.required|field=Name']);
    expect(await check(s.rules, '   ')).toEqual(['generic.form.required|field=Name']);
    expect(await check(s.rules, 'demo')).toEqual([]);
    expect(await check(s.rules, 'x'.repeat(50))).toEqual([]);
    expect(await check(s.rules, 'x'.repeat(51))).toEqual(['generic.form.lengthBetween|field=Name,min=1,max=50']);
  });

  it('counts characters, not UTF-16 units: 50 emoji fit a 50-character name', async () => {
    const s = fieldSpec(projectName, 'add', t);
    expect(await check(s.rules, '😀'.repeat(50))).toEqual([]);
    expect(await check(s.rules, '项'.repeat(51))).toHaveLength(1);
  });

  it('the edit form of the same column does not require it', async () => {
    const s = fieldSpec(projectNameEdit, 'edit', t);
    expect(s.required).toBe(false);
    expect(await check(s.rules, '')).toEqual([]);
  });

  it('Length with only a max', async () => {
    const s = fieldSpec(describeText, 'add', t);
    expect(await check(s.rules, 'a'.repeat(501))).toEqual(['generic.form.lengthMax|field=Description,max=500']);
    expect(await check(s.rules, '')).toEqual([]);
  });

  it('Regexp: lowercase names with inner dashes, 2 to 54 characters', async () => {
    const s = fieldSpec(pipelineName, 'add', t);
    expect(await check(s.rules, 'my-pipeline-1')).toEqual([]);
    expect(await check(s.rules, 'My-Pipeline')).toEqual(['generic.form.pattern|field=Name,pattern=^[a-z][a-z0-9-]*[a-z0-9]$']);
    expect(await check(s.rules, 'ends-with-')).toHaveLength(1);
    // One character breaks both the length and the pattern (a name needs two).
    expect(await check(s.rules, 'a')).toHaveLength(2);
  });

  it('an optional pattern accepts the empty value (email may be blank)', async () => {
    const s = fieldSpec(email, 'edit', t);
    expect(await check(s.rules, '')).toEqual([]);
    expect(await check(s.rules, 'a@b.c')).toEqual([]);
    expect(await check(s.rules, 'not an email')).toHaveLength(1);
  });

  it('NumberRange', async () => {
    const s = fieldSpec(cpuShare, 'add', t);
    expect(await check(s.rules, 0.5)).toEqual([]);
    expect(await check(s.rules, 1.5)).toEqual(['generic.form.rangeBetween|field=Share,min=0,max=1']);
    expect(await check(s.rules, -1)).toHaveLength(1);
  });

  it('an Integer takes only whole numbers', async () => {
    const s = fieldSpec(maxActive, 'add', t);
    expect(await check(s.rules, 3)).toEqual([]);
    expect(await check(s.rules, 2.5)).toEqual(['generic.form.integer|field=max_active_runs']);
  });

  it('a JSON field must parse, and be an object or an array', async () => {
    const s = fieldSpec(expand, 'add', t);
    expect(await check(s.rules, '{"engine": "argo"}')).toEqual([]);
    expect(await check(s.rules, '[1, 2]')).toEqual([]);
    expect(await check(s.rules, '')).toEqual([]);
    const bad = await check(s.rules, '{"engine": ');
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatch(/^generic\.form\.json\|field=Settings,error=/);
    expect(await check(s.rules, '42')).toEqual(['generic.form.jsonObject|field=Settings']);
  });

  it('a required relation', async () => {
    const s = fieldSpec(memberProject, 'add', t);
    expect(await check(s.rules, undefined)).toEqual(['generic.form.required|field=Project']);
    expect(await check(s.rules, 3)).toEqual([]);
    // antd's validator checks only presence for a rule of exactly {required, message}; with any
    // other key it also demands a string, and would refuse the id 3.
    expect(s.rules).toEqual([{ required: true, message: 'generic.form.required|field=Project' }]);
  });

  it('a password: required with its minimum length on add', async () => {
    const s = fieldSpec(userPassword, 'add', t);
    expect(await check(s.rules, '')).toEqual(['generic.form.required|field=Password']);
    expect(await check(s.rules, 'short')).toEqual(['generic.form.lengthBetween|field=Password,min=8,max=1024']);
    expect(await check(s.rules, 'long-enough')).toEqual([]);
  });

  it('a switch is never "required" (false is an answer)', () => {
    expect(fieldSpec(active, 'add', t).rules.some((r) => r.required)).toBe(false);
  });
});

describe('defaults and initial values', () => {
  it('turns the string defaults of _info into the input values', () => {
    expect(fieldSpec(maxActive, 'add', t).initialValue).toBe(3);
    expect(fieldSpec(dependsOnPast, 'add', t).initialValue).toBe(false);
    expect(fieldSpec(active, 'add', t).initialValue).toBe(true);
    expect(fieldSpec(projectType, 'add', t).initialValue).toBe('org');
    expect(fieldSpec(expand, 'add', t).initialValue).toBe('{}');
    expect(fieldSpec(projectName, 'add', t).initialValue).toBeUndefined();
    expect(fieldSpec(roles, 'add', t).initialValue).toEqual([]);
  });

  it('a JSON default like {"a":1} is shown pretty-printed', () => {
    expect(fieldSpec({ ...expand, default: '{"a":1,"b":[1,2]}' }, 'add', t).initialValue).toBe('{\n  "a": 1,\n  "b": [\n    1,\n    2\n  ]\n}');
  });

  it('edit values come from the row: relations as ids, JSON as text, times in local time', () => {
    const specs = [projectNameEdit, expand, memberProject, roles, cronStart, userPassword].map((x) => fieldSpec(x, 'edit', t));
    const row = {
      id: 7,
      name: 'demo',
      expand: { engine: 'argo' },
      project: { id: 3, name: 'demo' },
      roles: [
        { id: 1, name: 'admin' },
        { id: 2, name: 'dev' },
      ],
      cronjob_start_time: '2026-11-30T02:38:48',
      password: 'must never appear',
    };
    expect(initialValues(specs, 'edit', row)).toEqual({
      name: 'demo',
      expand: '{\n  "engine": "argo"\n}',
      project: 3,
      roles: [1, 2],
      // 02:38 UTC is 10:38 at UTC+8; a datetime-local input holds minutes.
      cronjob_start_time: '2026-11-30T10:38',
      password: '',
    });
  });

  it('presets (from the URL) fill an add form, as strings', () => {
    const specs = [memberProject, projectType, maxActive].map((x) => fieldSpec(x, 'add', t));
    expect(initialValues(specs, 'add', null, { project: '3', max_active_runs: '5' })).toEqual({ project: 3, type: 'org', max_active_runs: 5 });
  });
});

describe('values sent to the API', () => {
  it('an add form leaves blank optional fields out, so the database defaults apply', () => {
    const specs = [projectName, describeText, projectType, expand].map((x) => fieldSpec(x, 'add', t));
    expect(submitValues(specs, { name: 'p1', describe: '', type: undefined, expand: '{\n  "engine": "argo"\n}' })).toEqual({
      name: 'p1',
      expand: { engine: 'argo' },
    });
  });

  it('numbers, booleans, relations and many-to-many ids keep their types', () => {
    const specs = [maxActive, active, memberProject, roles].map((x) => fieldSpec(x, 'add', t));
    expect(submitValues(specs, { max_active_runs: 5, active: false, project: 3, roles: [1, 2] })).toEqual({
      max_active_runs: 5,
      active: false,
      project: 3,
      roles: [1, 2],
    });
  });

  it('a datetime goes back as UTC', () => {
    const s = fieldSpec(cronStart, 'add', t);
    // 10:38 at UTC+8 is 02:38 UTC.
    expect(s.toSubmit('2026-11-30T10:38')).toBe('2026-11-30T02:38:00Z');
    expect(s.toSubmit('')).toBe(OMIT);
  });

  it('an edit sends only what changed, and a cleared number as null', () => {
    const specs = [projectNameEdit, describeText, maxActive, expand].map((x) => fieldSpec(x, 'edit', t));
    const initial = initialValues(specs, 'edit', { name: 'demo', describe: 'old', max_active_runs: 3, expand: { a: 1 } });
    expect(submitValues(specs, { ...initial, describe: 'new' }, initial)).toEqual({ describe: 'new' });
    expect(submitValues(specs, { ...initial, max_active_runs: null }, initial)).toEqual({ max_active_runs: null });
    // Re-indenting JSON is not a change.
    expect(submitValues(specs, { ...initial, expand: '{"a":1}' }, initial)).toEqual({});
    expect(submitValues(specs, { ...initial, describe: '' }, initial)).toEqual({ describe: '' });
  });

  it('a secret left empty is not sent; a typed one always is', () => {
    const specs = [userPassword].map((x) => fieldSpec(x, 'edit', t));
    const initial = initialValues(specs, 'edit', { password: 'x' });
    expect(submitValues(specs, { password: '' }, initial)).toEqual({});
    expect(submitValues(specs, { password: 'new-password' }, initial)).toEqual({ password: 'new-password' });
  });
});

describe('server errors name fields', () => {
  const names = ['project', 'user', 'role', 'name'];
  it.each([
    ['name: longer than maximum length 50', ['name'], 'longer than maximum length 50'],
    ['project, user: already exists', ['project', 'user'], 'already exists'],
    ['role: must be one of dev, ops, creator', ['role'], 'must be one of dev, ops, creator'],
    ["project: only the project's creators manage its webhooks", ['project'], "only the project's creators manage its webhooks"],
  ])('%s', (msg, fields, text) => {
    expect(fieldErrorsFrom(msg, names)).toEqual({ fields, text });
  });

  it('a message that names no field of the form is not a field error', () => {
    expect(fieldErrorsFrom('database unavailable, try again', names)).toBeNull();
    expect(fieldErrorsFrom('events: unknown state', names)).toBeNull();
    expect(fieldErrorsFrom('no permission to add this Project', names)).toBeNull();
  });
});

describe('prettyJson', () => {
  it('formats objects and JSON text, and leaves broken text alone', () => {
    expect(prettyJson({ a: [1] })).toBe('{\n  "a": [\n    1\n  ]\n}');
    expect(prettyJson('[1,2]')).toBe('[\n  1,\n  2\n]');
    expect(prettyJson('{oops')).toBe('{oops');
    expect(prettyJson(null)).toBe('');
  });
});
