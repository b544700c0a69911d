// A job template's argument schema (cube-studio's format, checked by the server in
// fcgi/core/argschema.c) turned into form field specs, and the form's values turned back into
// the task's args JSON. Pure: no React, no antd components, so it is unit-tested on its own.
//
//   { "<group>": { "<arg name>": { type, item_type, require, editable, choice, range,
//                                  default, sub_args, label, placeholder, describe }, ... } }
//
// The rules mirror the server's coercion so that what the form accepts the server accepts too:
// require defaults to 1; "" and null are "no default"; enum/multiple values must be among the
// choices (compared after coercion to item_type); range "min,max" is inclusive with either side
// optional; a list given as text is split on ',' and a multiple on whitespace, ',' and ';'.
import type { FormRule } from 'antd';

export type ArgType =
  | 'str'
  | 'text'
  | 'json'
  | 'int'
  | 'float'
  | 'bool'
  | 'enum'
  | 'multiple'
  | 'list'
  | 'dict'
  | 'file';

const ARG_TYPES: readonly ArgType[] = ['str', 'text', 'json', 'int', 'float', 'bool', 'enum', 'multiple', 'list', 'dict', 'file'];

export interface ArgDescriptor {
  type?: string;
  item_type?: string;
  require?: number | boolean;
  editable?: number | boolean;
  choice?: unknown[];
  range?: string;
  default?: unknown;
  sub_args?: Record<string, ArgDescriptor>;
  label?: string;
  placeholder?: string;
  describe?: string;
  regex?: string;
  [other: string]: unknown;
}
export type ArgSchema = Record<string, Record<string, ArgDescriptor>>;
export type Args = Record<string, unknown>;

// How a field is drawn (ArgFields.tsx maps each to an antd control).
export type FieldKind =
  | 'input' // str: one line
  | 'textarea' // text
  | 'file' // file: a path or the file's content, sent untouched
  | 'int'
  | 'float'
  | 'switch' // bool
  | 'select' // enum
  | 'multiselect' // multiple
  | 'tags' // list of str/text/file/int/float: typed values
  | 'json' // json, dict without sub_args, list of bool/json/dict without sub_args: JSON text
  | 'dict' // dict with sub_args: a nested group of fields
  | 'dictlist'; // list of dicts with sub_args: repeatable nested groups

export interface FieldOption {
  label: string;
  value: string | number;
}

export interface FieldSpec {
  name: string;
  group: string;
  kind: FieldKind;
  type: ArgType;
  item: ArgType;
  label: string;
  help?: string;
  placeholder?: string;
  required: boolean;
  editable: boolean;
  options?: FieldOption[];
  min?: number;
  max?: number;
  // The descriptor's default coerced to the arg's type; undefined when there is none.
  defaultValue?: unknown;
  // For kind json: what the text must hold.
  jsonShape?: 'any' | 'object' | 'array';
  children?: FieldSpec[];
  // cube-studio's optional pattern for text args.
  regex?: string;
  rules: FormRule[];
}

export type Translate = (key: string, vars?: Record<string, string | number>) => string;

// ---- coercion, as argschema.c does it ------------------------------------------------------

// A decimal number as argschema.c's parse_number reads it: no hex, no inf/nan, no empty string.
const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function isBlank(v: unknown): boolean {
  return typeof v === 'string' && v.trim() === '';
}

export function toInt(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (typeof v === 'string') {
    const s = v.trim();
    if (!NUMBER_RE.test(s)) return undefined;
    const d = Number(s);
    return Number.isInteger(d) ? d : undefined;
  }
  return undefined;
}

export function toFloat(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') {
    const s = v.trim();
    if (!NUMBER_RE.test(s)) return undefined;
    const d = Number(s);
    return Number.isFinite(d) ? d : undefined;
  }
  return undefined;
}

export function toBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'true' || s === '1') return true;
    if (s === 'false' || s === '0') return false;
  }
  return undefined;
}

function toStr(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function coerceItem(item: ArgType, v: unknown): unknown {
  switch (item) {
    case 'int':
      return toInt(v);
    case 'float':
      return toFloat(v);
    case 'bool':
      return toBool(v);
    case 'file':
      return typeof v === 'string' ? v : undefined;
    case 'json':
      return parseJsonLoose(v);
    case 'dict':
      return asObject(v);
    default:
      return toStr(v);
  }
}

function parseJsonLoose(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  const o = parseJsonLoose(v);
  return o !== null && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>) : undefined;
}

// "a, b" for a list; "a b,c;d" for a multiple.
function splitText(s: string, multiple: boolean): string[] {
  return s
    .split(multiple ? /[\s,;]+/ : ',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

function asArray(v: unknown, multiple: boolean): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return splitText(v, multiple);
  return undefined;
}

function flag(v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return v === true || v === 1;
}

function argType(s: unknown, dflt: ArgType): ArgType {
  return typeof s === 'string' && (ARG_TYPES as readonly string[]).includes(s) ? (s as ArgType) : dflt;
}

// "min,max", either side empty; undefined sides when absent or unreadable.
export function parseRange(range: unknown): { min?: number; max?: number } {
  if (typeof range !== 'string' || range.trim() === '') return {};
  const parts = range.split(',');
  if (parts.length !== 2) return {};
  const side = (s: string) => {
    const t = s.trim();
    return t !== '' && NUMBER_RE.test(t) ? Number(t) : undefined;
  };
  return { min: side(parts[0]), max: side(parts[1]) };
}

// ---- schema -> specs --------------------------------------------------------------------------

function kindOf(type: ArgType, item: ArgType, hasSub: boolean): { kind: FieldKind; jsonShape?: FieldSpec['jsonShape'] } {
  switch (type) {
    case 'str':
      return { kind: 'input' };
    case 'text':
      return { kind: 'textarea' };
    case 'file':
      return { kind: 'file' };
    case 'int':
      return { kind: 'int' };
    case 'float':
      return { kind: 'float' };
    case 'bool':
      return { kind: 'switch' };
    case 'enum':
      return { kind: 'select' };
    case 'multiple':
      return { kind: 'multiselect' };
    case 'json':
      return { kind: 'json', jsonShape: 'any' };
    case 'dict':
      return hasSub ? { kind: 'dict' } : { kind: 'json', jsonShape: 'object' };
    case 'list':
      if (item === 'dict' && hasSub) return { kind: 'dictlist' };
      if (item === 'bool' || item === 'json' || item === 'dict') return { kind: 'json', jsonShape: 'array' };
      return { kind: 'tags' };
  }
}

function coerceDefault(spec: Omit<FieldSpec, 'rules' | 'defaultValue'>, d: unknown): unknown {
  if (d === undefined || d === null || isBlank(d)) return undefined;
  switch (spec.type) {
    case 'str':
    case 'text':
      return toStr(d);
    case 'file':
      return typeof d === 'string' ? d : undefined;
    case 'int':
      return toInt(d);
    case 'float':
      return toFloat(d);
    case 'bool':
      return toBool(d);
    case 'enum':
      return coerceItem(spec.item, d);
    case 'multiple':
    case 'list': {
      const arr = asArray(d, spec.type === 'multiple');
      return arr?.map((x) => coerceItem(spec.item, x));
    }
    case 'json':
      return parseJsonLoose(d);
    case 'dict':
      return asObject(d);
  }
}

function rangeText(t: Translate, min?: number, max?: number): string {
  if (min !== undefined && max !== undefined) return t('editor.arg.rangeBoth', { min, max });
  if (min !== undefined) return t('editor.arg.rangeMin', { min });
  return t('editor.arg.rangeMax', { max: max ?? '' });
}

function inRange(d: number, min?: number, max?: number): boolean {
  return (min === undefined || d >= min) && (max === undefined || d <= max);
}

function rulesFor(s: Omit<FieldSpec, 'rules'>, t: Translate): FormRule[] {
  const rules: FormRule[] = [];
  const required = s.required && s.editable;
  const msgRequired = t('editor.arg.required', { name: s.label });
  if (required) {
    switch (s.kind) {
      case 'switch':
      case 'dict':
        break; // a switch always has a value; a dict's own fields carry the rules
      case 'multiselect':
      case 'tags':
        rules.push({ required: true, type: 'array', min: 1, message: msgRequired });
        break;
      case 'dictlist':
        // Form.List only runs validator rules.
        rules.push({
          validator: (_r, v: unknown) =>
            Array.isArray(v) && v.length > 0 ? Promise.resolve() : Promise.reject(new Error(msgRequired)),
        });
        break;
      case 'int':
      case 'float':
      case 'select':
        rules.push({ required: true, message: msgRequired });
        break;
      default:
        rules.push({ required: true, whitespace: true, message: msgRequired });
    }
  }
  const { min, max } = s;
  if (s.kind === 'int' || s.kind === 'float') {
    const isInt = s.kind === 'int';
    rules.push({
      validator: (_r, v: unknown) => {
        if (v === undefined || v === null || v === '') return Promise.resolve();
        const d = isInt ? toInt(v) : toFloat(v);
        if (d === undefined) return Promise.reject(new Error(t(isInt ? 'editor.arg.notInt' : 'editor.arg.notNumber')));
        if (!inRange(d, min, max)) return Promise.reject(new Error(rangeText(t, min, max)));
        return Promise.resolve();
      },
    });
  }
  if (s.kind === 'select' && s.options) {
    const values = s.options.map((o) => o.value);
    rules.push({
      validator: (_r, v: unknown) =>
        v === undefined || v === null || v === '' || values.includes(v as string | number)
          ? Promise.resolve()
          : Promise.reject(new Error(t('editor.arg.notChoice'))),
    });
  }
  if (s.kind === 'multiselect' && s.options) {
    const values = s.options.map((o) => o.value);
    rules.push({
      validator: (_r, v: unknown) =>
        !Array.isArray(v) || v.every((x) => values.includes(x as string | number))
          ? Promise.resolve()
          : Promise.reject(new Error(t('editor.arg.notChoice'))),
    });
  }
  if (s.kind === 'tags' && (s.item === 'int' || s.item === 'float')) {
    const isInt = s.item === 'int';
    rules.push({
      validator: (_r, v: unknown) => {
        if (!Array.isArray(v)) return Promise.resolve();
        for (const x of v) {
          const d = isInt ? toInt(x) : toFloat(x);
          if (d === undefined)
            return Promise.reject(new Error(t(isInt ? 'editor.arg.itemNotInt' : 'editor.arg.itemNotNumber', { value: String(x) })));
          if (!inRange(d, min, max)) return Promise.reject(new Error(`${String(x)}: ${rangeText(t, min, max)}`));
        }
        return Promise.resolve();
      },
    });
  }
  if (s.kind === 'json') {
    const shape = s.jsonShape ?? 'any';
    const item = s.item;
    rules.push({
      validator: (_r, v: unknown) => {
        if (typeof v !== 'string' || v.trim() === '') return Promise.resolve();
        let parsed: unknown;
        try {
          parsed = JSON.parse(v);
        } catch (e) {
          return Promise.reject(new Error(t('editor.arg.badJson', { error: (e as Error).message })));
        }
        if (shape === 'object' && (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)))
          return Promise.reject(new Error(t('editor.arg.jsonObject')));
        if (shape === 'array') {
          if (!Array.isArray(parsed)) return Promise.reject(new Error(t('editor.arg.jsonArray')));
          if (item === 'bool' && !parsed.every((x) => toBool(x) !== undefined))
            return Promise.reject(new Error(t('editor.arg.jsonBools')));
          if (item === 'dict' && !parsed.every((x) => asObject(x) !== undefined))
            return Promise.reject(new Error(t('editor.arg.jsonObjects')));
          if (required && parsed.length === 0) return Promise.reject(new Error(msgRequired));
        }
        return Promise.resolve();
      },
    });
  }
  // cube-studio's "regex" key: the server ignores it, the form still helps with it.
  const regex = s.regex;
  if (regex && (s.kind === 'input' || s.kind === 'textarea')) {
    try {
      rules.push({ pattern: new RegExp(regex), message: t('editor.arg.pattern', { regex }) });
    } catch {
      // An unreadable pattern helps nobody: leave it to the server, which ignores it anyway.
    }
  }
  return rules;
}

function specFor(group: string, name: string, d: ArgDescriptor, t: Translate): FieldSpec {
  const type = argType(d.type, 'str');
  const hasSub = !!d.sub_args && typeof d.sub_args === 'object' && Object.keys(d.sub_args).length > 0;
  // A list with sub_args and no item_type is a list of dicts.
  const item = argType(d.item_type, type === 'list' && hasSub ? 'dict' : 'str');
  const { kind, jsonShape } = kindOf(type, item, hasSub);
  const numeric = type === 'int' || type === 'float' || (type === 'list' && (item === 'int' || item === 'float'));
  const { min, max } = numeric ? parseRange(d.range) : {};
  const base: Omit<FieldSpec, 'rules' | 'defaultValue'> = {
    name,
    group,
    kind,
    type,
    item,
    label: typeof d.label === 'string' && d.label.trim() ? d.label : name,
    help: typeof d.describe === 'string' && d.describe ? d.describe : undefined,
    placeholder: typeof d.placeholder === 'string' && d.placeholder ? d.placeholder : undefined,
    required: flag(d.require, true),
    editable: flag(d.editable, true),
    min,
    max,
    jsonShape,
  };
  if (typeof d.regex === 'string' && d.regex) base.regex = d.regex;
  if (type === 'enum' || type === 'multiple') {
    const seen = new Set<string | number>();
    base.options = [];
    for (const c of Array.isArray(d.choice) ? d.choice : []) {
      const v = coerceItem(item, c);
      if ((typeof v === 'string' || typeof v === 'number') && !seen.has(v)) {
        seen.add(v);
        base.options.push({ label: String(v), value: v });
      }
    }
  }
  if (hasSub && (kind === 'dict' || kind === 'dictlist'))
    base.children = Object.entries(d.sub_args ?? {}).map(([n, sd]) => specFor('', n, sd, t));
  const withDefault = { ...base, defaultValue: coerceDefault(base, d.default) };
  const spec: FieldSpec = { ...withDefault, rules: rulesFor(withDefault, t) };
  return spec;
}

// Every arg of the schema, in schema order (groups, then args within a group).
export function fieldSpecs(schema: unknown, t: Translate): FieldSpec[] {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return [];
  const out: FieldSpec[] = [];
  for (const [group, args] of Object.entries(schema as ArgSchema)) {
    if (!args || typeof args !== 'object' || Array.isArray(args)) continue;
    for (const [name, d] of Object.entries(args)) {
      if (!d || typeof d !== 'object' || Array.isArray(d)) continue;
      out.push(specFor(group, name, d, t));
    }
  }
  return out;
}

// Arg names whose required value has no default, so a task cannot be created without them.
export function missingRequired(specs: FieldSpec[]): string[] {
  return specs
    .filter((s) => s.required && s.editable && s.kind !== 'switch' && s.kind !== 'dict' && s.defaultValue === undefined)
    .map((s) => s.name);
}

// ---- args <-> form values ----------------------------------------------------------------

function jsonText(v: unknown): string {
  if (v === undefined || v === null || isBlank(v)) return '';
  if (typeof v === 'string') {
    // Already JSON text (a json arg may be stored as given); show it as it is.
    return v;
  }
  return JSON.stringify(v, null, 2);
}

// One stored arg value (or undefined) as the value of its form control.
export function toFormValue(s: FieldSpec, v: unknown): unknown {
  const given = v !== undefined && v !== null;
  const src = given ? v : s.defaultValue;
  switch (s.kind) {
    case 'input':
    case 'textarea':
      return src === undefined ? '' : (toStr(src) ?? (typeof src === 'string' ? src : JSON.stringify(src)));
    case 'file':
      return typeof src === 'string' ? src : src === undefined ? '' : String(src);
    case 'int':
      return src === undefined || isBlank(src) ? undefined : toInt(src);
    case 'float':
      return src === undefined || isBlank(src) ? undefined : toFloat(src);
    case 'switch':
      return src === undefined ? false : (toBool(src) ?? false);
    case 'select':
      return src === undefined || isBlank(src) ? undefined : coerceItem(s.item, src);
    case 'multiselect': {
      const arr = src === undefined ? [] : (asArray(src, true) ?? []);
      return arr.map((x) => coerceItem(s.item, x)).filter((x) => x !== undefined);
    }
    case 'tags': {
      const arr = src === undefined ? [] : (asArray(src, false) ?? []);
      // Typed as text in the control; numbers come back as numbers in formToArgs.
      return arr.map((x) => (typeof x === 'string' ? x : String(x)));
    }
    case 'json':
      return jsonText(src);
    case 'dict': {
      const obj = src === undefined ? {} : (asObject(src) ?? {});
      return childValues(s.children ?? [], obj);
    }
    case 'dictlist': {
      const arr = src === undefined ? [] : Array.isArray(src) ? src : (asArray(parseJsonLoose(src), false) ?? []);
      return arr.map((x) => childValues(s.children ?? [], asObject(x) ?? {}));
    }
  }
}

function childValues(specs: FieldSpec[], obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of specs) out[c.name] = toFormValue(c, obj[c.name]);
  return out;
}

// The form's initial values for a task's stored args; an arg not stored shows its default.
export function initialFormValues(specs: FieldSpec[], args: Args | null | undefined): Record<string, unknown> {
  return childValues(specs, args && typeof args === 'object' ? args : {});
}

// The value to send for one field; undefined means "leave the arg out".
function fromFormValue(s: FieldSpec, v: unknown): unknown {
  const blank = v === undefined || v === null || isBlank(v);
  // Cleared: leave it out when there is no default (nothing changes), otherwise send "" —
  // the server keeps "" for an optional arg and the command line leaves it out, whereas
  // leaving the arg out would bring the default back.
  const cleared = () => (s.defaultValue === undefined ? undefined : '');
  switch (s.kind) {
    case 'input':
    case 'textarea':
      return blank ? cleared() : typeof v === 'string' ? v.trim() : v;
    case 'file':
      return blank ? cleared() : v;
    case 'int':
      return blank ? cleared() : toInt(v);
    case 'float':
      return blank ? cleared() : toFloat(v);
    case 'switch':
      return v === true;
    case 'select':
      return blank ? cleared() : v;
    case 'multiselect':
      return Array.isArray(v) ? v : [];
    case 'tags': {
      const arr = Array.isArray(v) ? v : [];
      if (s.item === 'int') return arr.map((x) => toInt(x) ?? x);
      if (s.item === 'float') return arr.map((x) => toFloat(x) ?? x);
      if (s.item === 'file') return arr;
      return arr.map((x) => (typeof x === 'string' ? x.trim() : x));
    }
    case 'json':
      if (blank) return cleared();
      try {
        return JSON.parse(String(v));
      } catch {
        return v; // let the server say what is wrong with it
      }
    case 'dict':
      return childArgs(s.children ?? [], (v as Record<string, unknown>) ?? {});
    case 'dictlist':
      return (Array.isArray(v) ? v : []).map((x) => childArgs(s.children ?? [], (x as Record<string, unknown>) ?? {}));
  }
}

function childArgs(specs: FieldSpec[], values: Record<string, unknown>): Args {
  const out: Args = {};
  for (const s of specs) {
    // A task may not change a non-editable arg; leaving it out lets the server put the default.
    if (!s.editable) continue;
    const v = fromFormValue(s, values[s.name]);
    if (v !== undefined) out[s.name] = v;
  }
  return out;
}

// The task's args JSON from the form's values.
export function formToArgs(specs: FieldSpec[], values: Record<string, unknown> | null | undefined): Args {
  return childArgs(specs, values ?? {});
}
