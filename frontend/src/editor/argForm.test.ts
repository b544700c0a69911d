// The schema-to-form mapping. Expected values come from the schema rules of
// fcgi/core/argschema.h (require defaults to 1, "" is no default, enum/multiple choices are
// compared after coercion to item_type, range is inclusive "min,max" with optional sides, a
// list default text splits on ',' and a multiple one on whitespace/','/';'), worked out by hand.
import { describe, expect, it } from 'vitest';
import type { FormRule } from 'antd';
import {
  fieldSpecs,
  formToArgs,
  initialFormValues,
  missingRequired,
  parseRange,
  toBool,
  toFloat,
  toFormValue,
  toInt,
  type FieldSpec,
} from './argForm';

const t = (key: string, vars?: Record<string, string | number>) => (vars ? `${key} ${JSON.stringify(vars)}` : key);

const schema = {
  Basics: {
    '--name': { type: 'str', label: 'Name', describe: 'who runs it', default: '  bob  ', placeholder: 'a name' },
    '--notes': { type: 'text', require: 0 },
    '--epochs': { type: 'int', range: '1,100', default: '10' },
    '--lr': { type: 'float', range: '0,', default: 0.1, require: false },
    '--debug': { type: 'bool', default: 'true', require: 0 },
    '--mode': { type: 'enum', choice: ['train', 'eval'], default: 'eval' },
    '--gpus': { type: 'enum', item_type: 'int', choice: ['1', '2', 4], require: 0 },
    '--metrics': { type: 'multiple', choice: ['acc', 'f1', 'auc'], default: 'acc; f1' },
  },
  Advanced: {
    '--layers': { type: 'list', item_type: 'int', range: '1,', default: '64, 32' },
    '--tags': { type: 'list', require: 0 },
    '--conf': { type: 'json', require: 0, default: '{"a":1}' },
    '--opt': { type: 'dict', require: 0 },
    '--model': {
      type: 'dict',
      sub_args: { units: { type: 'int', default: 8 }, act: { type: 'enum', choice: ['relu', 'tanh'], require: 0 } },
    },
    '--blocks': { type: 'list', require: 0, sub_args: { k: { type: 'int' } } },
    '--flags': { type: 'list', item_type: 'bool', require: 0 },
    '--data': { type: 'file' },
    '--fixed': { type: 'str', editable: 0, default: 'v1' },
    '--blank': { type: 'str', default: '   ', require: 0 },
    '--code': { type: 'str', require: 0, regex: '^[A-Z]+$' },
    '--plain': {},
  },
};

const specs = fieldSpecs(schema, t);
const byName = (n: string, list: FieldSpec[] = specs): FieldSpec => {
  const s = list.find((x) => x.name === n);
  if (!s) throw new Error(`no spec ${n}`);
  return s;
};

// Runs a spec's rules the way antd's form does for the kinds of rule argForm produces.
async function errorsOf(spec: FieldSpec, value: unknown): Promise<string[]> {
  const out: string[] = [];
  for (const r of spec.rules as Exclude<FormRule, (...a: never[]) => unknown>[]) {
    if (r.required) {
      const isEmpty =
        value === undefined ||
        value === null ||
        (typeof value === 'string' && (r.whitespace ? value.trim() === '' : value === '')) ||
        (Array.isArray(value) && value.length < (r.min ?? 1));
      if (isEmpty) {
        out.push(String(r.message));
        continue;
      }
    }
    if (r.pattern && typeof value === 'string' && value !== '' && !r.pattern.test(value)) out.push(String(r.message));
    if (r.validator) {
      try {
        await r.validator(r, value, () => undefined);
      } catch (e) {
        out.push((e as Error).message);
      }
    }
  }
  return out;
}

describe('fieldSpecs', () => {
  it('keeps schema order across groups and records each arg group', () => {
    expect(specs.map((s) => s.name)).toEqual([
      '--name', '--notes', '--epochs', '--lr', '--debug', '--mode', '--gpus', '--metrics',
      '--layers', '--tags', '--conf', '--opt', '--model', '--blocks', '--flags', '--data', '--fixed', '--blank', '--code', '--plain',
    ]);
    expect(byName('--mode').group).toBe('Basics');
    expect(byName('--layers').group).toBe('Advanced');
  });

  it('maps every arg type to a control', () => {
    const kinds = Object.fromEntries(specs.map((s) => [s.name, s.kind]));
    expect(kinds).toEqual({
      '--name': 'input',
      '--notes': 'textarea',
      '--epochs': 'int',
      '--lr': 'float',
      '--debug': 'switch',
      '--mode': 'select',
      '--gpus': 'select',
      '--metrics': 'multiselect',
      '--layers': 'tags',
      '--tags': 'tags',
      '--conf': 'json',
      '--opt': 'json',
      '--model': 'dict',
      '--blocks': 'dictlist',
      '--flags': 'json',
      '--data': 'file',
      '--fixed': 'input',
      '--blank': 'input',
      '--code': 'input',
      '--plain': 'input', // no type: str
    });
    expect(byName('--opt').jsonShape).toBe('object');
    expect(byName('--flags').jsonShape).toBe('array');
    expect(byName('--conf').jsonShape).toBe('any');
    // A list with sub_args and no item_type is a list of dicts.
    expect(byName('--blocks').item).toBe('dict');
    expect(byName('--tags').item).toBe('str');
  });

  it('reads require (default 1) and editable (default 1)', () => {
    const req = Object.fromEntries(specs.map((s) => [s.name, s.required]));
    expect(req['--name']).toBe(true); // not written: required, as in cube-studio
    expect(req['--plain']).toBe(true);
    expect(req['--notes']).toBe(false); // 0
    expect(req['--lr']).toBe(false); // false
    expect(req['--epochs']).toBe(true);
    expect(byName('--fixed').editable).toBe(false);
    expect(byName('--name').editable).toBe(true);
  });

  it('takes label, describe and placeholder for the form, the name when there is no label', () => {
    const s = byName('--name');
    expect(s.label).toBe('Name');
    expect(s.help).toBe('who runs it');
    expect(s.placeholder).toBe('a name');
    expect(byName('--notes').label).toBe('--notes');
    expect(byName('--notes').help).toBeUndefined();
  });

  it('coerces defaults to the arg type; "" and blank are no default', () => {
    expect(byName('--name').defaultValue).toBe('bob'); // str is trimmed
    expect(byName('--epochs').defaultValue).toBe(10); // "10" -> 10
    expect(byName('--lr').defaultValue).toBe(0.1);
    expect(byName('--debug').defaultValue).toBe(true); // "true"
    expect(byName('--mode').defaultValue).toBe('eval');
    expect(byName('--metrics').defaultValue).toEqual(['acc', 'f1']); // "acc; f1"
    expect(byName('--layers').defaultValue).toEqual([64, 32]); // "64, 32" -> ints
    expect(byName('--conf').defaultValue).toEqual({ a: 1 }); // JSON text is parsed
    expect(byName('--blank').defaultValue).toBeUndefined(); // "   "
    expect(byName('--notes').defaultValue).toBeUndefined();
    expect(byName('--fixed').defaultValue).toBe('v1');
    expect(byName('units', byName('--model').children).defaultValue).toBe(8);
  });

  it('gives enum and multiple their choices, coerced to item_type', () => {
    expect(byName('--mode').options).toEqual([
      { label: 'train', value: 'train' },
      { label: 'eval', value: 'eval' },
    ]);
    // item_type int: "1" and "2" become 1 and 2
    expect(byName('--gpus').options?.map((o) => o.value)).toEqual([1, 2, 4]);
    expect(byName('--metrics').options?.map((o) => o.value)).toEqual(['acc', 'f1', 'auc']);
    expect(byName('--name').options).toBeUndefined();
  });

  it('reads range for numbers and lists of numbers only', () => {
    expect([byName('--epochs').min, byName('--epochs').max]).toEqual([1, 100]);
    expect([byName('--lr').min, byName('--lr').max]).toEqual([0, undefined]); // "0,"
    expect([byName('--layers').min, byName('--layers').max]).toEqual([1, undefined]);
    expect(byName('--name').min).toBeUndefined();
  });

  it('gives nested fields to a dict or list of dicts with sub_args', () => {
    const m = byName('--model');
    expect(m.children?.map((c) => [c.name, c.kind, c.required])).toEqual([
      ['units', 'int', true],
      ['act', 'select', false],
    ]);
    expect(byName('--blocks').children?.map((c) => [c.name, c.kind, c.required])).toEqual([['k', 'int', true]]);
  });

  it('is empty for no schema, an empty one, or a malformed one', () => {
    expect(fieldSpecs(null, t)).toEqual([]);
    expect(fieldSpecs({}, t)).toEqual([]);
    expect(fieldSpecs([1, 2], t)).toEqual([]);
    expect(fieldSpecs({ G: 'nope' }, t)).toEqual([]);
  });

  it('names the required args that have no default (a task cannot be created without them)', () => {
    expect(missingRequired(specs)).toEqual(['--data', '--plain']);
    expect(missingRequired(fieldSpecs({ G: { command: { type: 'text', require: 1 } } }, t))).toEqual(['command']);
    expect(missingRequired(fieldSpecs({ G: { n: { type: 'int', default: 2 } } }, t))).toEqual([]);
  });
});

describe('rules', () => {
  it('requires a non-blank value for required text', async () => {
    expect(await errorsOf(byName('--name'), '   ')).toEqual(['editor.arg.required {"name":"Name"}']);
    expect(await errorsOf(byName('--name'), 'x')).toEqual([]);
    expect(await errorsOf(byName('--notes'), '')).toEqual([]);
    expect(await errorsOf(byName('--data'), '')).toHaveLength(1);
  });

  it('checks int: whole numbers inside the inclusive range', async () => {
    const s = byName('--epochs');
    expect(await errorsOf(s, 1)).toEqual([]);
    expect(await errorsOf(s, 100)).toEqual([]);
    expect(await errorsOf(s, 0)).toEqual(['editor.arg.rangeBoth {"min":1,"max":100}']);
    expect(await errorsOf(s, 101)).toEqual(['editor.arg.rangeBoth {"min":1,"max":100}']);
    expect(await errorsOf(s, 2.5)).toEqual(['editor.arg.notInt']);
    expect(await errorsOf(s, undefined)).toEqual(['editor.arg.required {"name":"--epochs"}']);
  });

  it('checks float: a minimum only', async () => {
    const s = byName('--lr');
    expect(await errorsOf(s, 0)).toEqual([]);
    expect(await errorsOf(s, 1e9)).toEqual([]);
    expect(await errorsOf(s, -0.5)).toEqual(['editor.arg.rangeMin {"min":0}']);
    expect(await errorsOf(s, undefined)).toEqual([]); // optional
  });

  it('has no rule that can fail for a bool', async () => {
    expect(await errorsOf(byName('--debug'), false)).toEqual([]);
    expect(await errorsOf(byName('--debug'), true)).toEqual([]);
  });

  it('keeps enum values among the choices', async () => {
    expect(await errorsOf(byName('--mode'), 'train')).toEqual([]);
    expect(await errorsOf(byName('--mode'), 'test')).toEqual(['editor.arg.notChoice']);
    expect(await errorsOf(byName('--mode'), undefined)).toHaveLength(1); // required
    expect(await errorsOf(byName('--gpus'), 2)).toEqual([]);
    expect(await errorsOf(byName('--gpus'), 3)).toEqual(['editor.arg.notChoice']);
    expect(await errorsOf(byName('--gpus'), undefined)).toEqual([]); // optional
  });

  it('keeps multiple values among the choices and requires one when required', async () => {
    expect(await errorsOf(byName('--metrics'), ['acc', 'auc'])).toEqual([]);
    expect(await errorsOf(byName('--metrics'), ['acc', 'zzz'])).toEqual(['editor.arg.notChoice']);
    expect(await errorsOf(byName('--metrics'), [])).toHaveLength(1);
  });

  it('checks each list item against item_type and range', async () => {
    const s = byName('--layers');
    expect(await errorsOf(s, ['64', '1'])).toEqual([]);
    expect(await errorsOf(s, ['64', 'x'])).toEqual(['editor.arg.itemNotInt {"value":"x"}']);
    expect(await errorsOf(s, ['1.5'])).toEqual(['editor.arg.itemNotInt {"value":"1.5"}']);
    expect(await errorsOf(s, ['0'])).toEqual(['0: editor.arg.rangeMin {"min":1}']);
    expect(await errorsOf(s, [])).toHaveLength(1); // required, and an empty list is missing
    expect(await errorsOf(byName('--tags'), [])).toEqual([]);
  });

  it('checks JSON text and its shape', async () => {
    expect(await errorsOf(byName('--conf'), '[1, 2]')).toEqual([]); // json: any value
    expect((await errorsOf(byName('--conf'), '{bad'))[0]).toMatch(/^editor\.arg\.badJson/);
    expect(await errorsOf(byName('--opt'), '[1]')).toEqual(['editor.arg.jsonObject']); // dict
    expect(await errorsOf(byName('--opt'), '{"k": 1}')).toEqual([]);
    expect(await errorsOf(byName('--opt'), '')).toEqual([]); // optional
    expect(await errorsOf(byName('--flags'), '[true, "0", 1]')).toEqual([]); // bools as the server reads them
    expect(await errorsOf(byName('--flags'), '["maybe"]')).toEqual(['editor.arg.jsonBools']);
    expect(await errorsOf(byName('--flags'), '{}')).toEqual(['editor.arg.jsonArray']);
  });

  it('applies cube-studio regex to text args', async () => {
    expect(await errorsOf(byName('--code'), 'ABC')).toEqual([]);
    expect(await errorsOf(byName('--code'), 'abc')).toEqual(['editor.arg.pattern {"regex":"^[A-Z]+$"}']);
  });

  it('checks nested fields of a dict', async () => {
    const units = byName('units', byName('--model').children);
    expect(await errorsOf(units, undefined)).toHaveLength(1);
    expect(await errorsOf(units, 3)).toEqual([]);
  });

  it('does not require a non-editable arg', async () => {
    expect(await errorsOf(byName('--fixed'), '')).toEqual([]);
  });
});

describe('form values and args', () => {
  it('shows defaults for args that are not stored', () => {
    const v = initialFormValues(specs, {});
    expect(v['--name']).toBe('bob');
    expect(v['--notes']).toBe('');
    expect(v['--epochs']).toBe(10);
    expect(v['--lr']).toBe(0.1);
    expect(v['--debug']).toBe(true);
    expect(v['--mode']).toBe('eval');
    expect(v['--gpus']).toBeUndefined();
    expect(v['--metrics']).toEqual(['acc', 'f1']);
    expect(v['--layers']).toEqual(['64', '32']); // typed as text in a tags control
    expect(v['--tags']).toEqual([]);
    expect(JSON.parse(v['--conf'] as string)).toEqual({ a: 1 });
    expect(v['--opt']).toBe('');
    expect(v['--model']).toEqual({ units: 8, act: undefined });
    expect(v['--blocks']).toEqual([]);
    expect(v['--flags']).toBe('');
    expect(v['--data']).toBe('');
    expect(v['--fixed']).toBe('v1');
  });

  it('shows stored args over defaults', () => {
    const v = initialFormValues(specs, {
      '--name': 'ann',
      '--epochs': 5,
      '--debug': false,
      '--gpus': 2,
      '--metrics': ['auc'],
      '--layers': [1, 2],
      '--conf': [1, 2],
      '--model': { units: 3, act: 'tanh' },
      '--blocks': [{ k: 1 }, { k: 2 }],
      '--flags': [true],
      '--data': '/data/x.csv',
    });
    expect(v['--name']).toBe('ann');
    expect(v['--epochs']).toBe(5);
    expect(v['--debug']).toBe(false); // stored false wins over the default true
    expect(v['--gpus']).toBe(2);
    expect(v['--metrics']).toEqual(['auc']);
    expect(v['--layers']).toEqual(['1', '2']);
    expect(JSON.parse(v['--conf'] as string)).toEqual([1, 2]);
    expect(v['--model']).toEqual({ units: 3, act: 'tanh' });
    expect(v['--blocks']).toEqual([{ k: 1 }, { k: 2 }]);
    expect(JSON.parse(v['--flags'] as string)).toEqual([true]);
    expect(v['--data']).toBe('/data/x.csv');
  });

  it('turns untouched defaults into the args the server would fill in', () => {
    const args = formToArgs(specs, initialFormValues(specs, {}));
    expect(args).toEqual({
      '--name': 'bob',
      '--epochs': 10,
      '--lr': 0.1,
      '--debug': true,
      '--mode': 'eval',
      '--metrics': ['acc', 'f1'],
      '--layers': [64, 32],
      '--tags': [],
      '--conf': { a: 1 },
      '--model': { units: 8 },
      '--blocks': [],
    });
    // Not sent: optional args without a value and without a default (--notes, --gpus, --opt,
    // --flags, --blank, --code), the empty required file (the form refuses it first) and the
    // non-editable --fixed, which the server fills with its default.
    for (const k of ['--notes', '--gpus', '--opt', '--flags', '--data', '--fixed', '--blank', '--code']) expect(k in args).toBe(false);
  });

  it('converts edited values to the arg types', () => {
    const values = {
      ...initialFormValues(specs, {}),
      '--name': '  carl ',
      '--notes': 'line 1\nline 2',
      '--epochs': 20,
      '--gpus': 4,
      '--layers': ['128', ' 7 '],
      '--tags': [' a ', 'b'],
      '--conf': '"just a string"',
      '--opt': '{"x": [1]}',
      '--model': { units: 16, act: 'relu' },
      '--blocks': [{ k: 3 }],
      '--flags': '[false, true]',
      '--data': '  keep spaces  ',
    };
    const args = formToArgs(specs, values);
    expect(args['--name']).toBe('carl');
    expect(args['--notes']).toBe('line 1\nline 2');
    expect(args['--epochs']).toBe(20);
    expect(args['--gpus']).toBe(4);
    expect(args['--layers']).toEqual([128, 7]);
    expect(args['--tags']).toEqual(['a', 'b']);
    expect(args['--conf']).toBe('just a string');
    expect(args['--opt']).toEqual({ x: [1] });
    expect(args['--model']).toEqual({ units: 16, act: 'relu' });
    expect(args['--blocks']).toEqual([{ k: 3 }]);
    expect(args['--flags']).toEqual([false, true]);
    expect(args['--data']).toBe('  keep spaces  '); // file: untouched
  });

  it('sends "" for a cleared arg that has a default, so the default does not come back', () => {
    const values = { ...initialFormValues(specs, {}), '--lr': null, '--name': '', '--notes': '' };
    const args = formToArgs(specs, values);
    expect(args['--lr']).toBe('');
    expect(args['--name']).toBe(''); // required: the form refuses it before it is sent
    expect('--notes' in args).toBe(false); // no default: simply not given
  });

  it('sends a bool switch as true or false', () => {
    expect(formToArgs(specs, { '--debug': false })['--debug']).toBe(false);
    expect(formToArgs(specs, { '--debug': true })['--debug']).toBe(true);
  });

  it('round-trips stored args through the form unchanged', () => {
    const stored = {
      '--name': 'ann',
      '--notes': 'n',
      '--epochs': 5,
      '--lr': 0.25,
      '--debug': false,
      '--mode': 'train',
      '--gpus': 1,
      '--metrics': ['f1'],
      '--layers': [3],
      '--tags': ['x'],
      '--conf': { deep: { a: [1] } },
      '--opt': { k: 'v' },
      '--model': { units: 2, act: 'relu' },
      '--blocks': [{ k: 9 }],
      '--flags': [true, false],
      '--data': 'd',
    };
    expect(formToArgs(specs, initialFormValues(specs, stored))).toEqual(stored);
  });

  it('reads a stored multiple or list given as text the way the server splits it', () => {
    expect(toFormValue(byName('--metrics'), 'acc f1,auc')).toEqual(['acc', 'f1', 'auc']);
    expect(toFormValue(byName('--tags'), 'a, b c')).toEqual(['a', 'b c']);
  });
});

describe('coercion helpers', () => {
  it('reads ints like the server', () => {
    expect(toInt('12')).toBe(12);
    expect(toInt(' 12 ')).toBe(12);
    expect(toInt(12.0)).toBe(12);
    expect(toInt('12.0')).toBe(12);
    expect(toInt('1e3')).toBe(1000);
    expect(toInt('12.5')).toBeUndefined();
    expect(toInt('abc')).toBeUndefined();
    expect(toInt('0x10')).toBeUndefined();
    expect(toInt(true)).toBeUndefined();
    expect(toInt('')).toBeUndefined();
  });

  it('reads floats like the server', () => {
    expect(toFloat('0.5')).toBe(0.5);
    expect(toFloat(3)).toBe(3);
    expect(toFloat('inf')).toBeUndefined();
    expect(toFloat('nan')).toBeUndefined();
    expect(toFloat('')).toBeUndefined();
  });

  it('reads bools like the server', () => {
    expect(toBool('TRUE')).toBe(true);
    expect(toBool('1')).toBe(true);
    expect(toBool(0)).toBe(false);
    expect(toBool('false')).toBe(false);
    expect(toBool(2)).toBeUndefined();
    expect(toBool('yes')).toBeUndefined();
  });

  it('reads ranges with optional sides', () => {
    expect(parseRange('1,64')).toEqual({ min: 1, max: 64 });
    expect(parseRange(',10')).toEqual({ min: undefined, max: 10 });
    expect(parseRange(' 0.5 , ')).toEqual({ min: 0.5, max: undefined });
    expect(parseRange('')).toEqual({});
    expect(parseRange('1-2')).toEqual({});
  });
});

describe('a required list of dicts', () => {
  it('needs at least one item', async () => {
    const [s] = fieldSpecs({ G: { '--stages': { type: 'list', sub_args: { n: { type: 'int' } } } } }, t);
    expect(s.kind).toBe('dictlist');
    expect(s.required).toBe(true);
    expect(await errorsOf(s, [])).toEqual(['editor.arg.required {"name":"--stages"}']);
    expect(await errorsOf(s, [{ n: 1 }])).toEqual([]);
  });
});
