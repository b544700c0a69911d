// The pure half of the generated forms: one field descriptor of GET /api/<view>/_info
// (add_columns / edit_columns, written by fcgi/api/info.c) becomes the kind of input to draw,
// its validation rules, its initial value and the conversions between what the API sends,
// what the input holds and what the API accepts. ResourceForm draws what this decides.
import type { RuleObject } from 'antd/es/form';
import type { FieldInfo as ApiFieldInfo, Row } from '../api';
import { fromLocalInput, toLocalInput } from './format';

// info.c also writes these, which api.ts does not declare.
export type FieldInfo = ApiFieldInfo & { write_only?: boolean; related?: string; related_display?: string };

export type FieldKind =
  | 'input'
  | 'textarea'
  | 'password'
  | 'integer'
  | 'float'
  | 'switch'
  | 'select'
  | 'related'
  | 'relatedMulti'
  | 'json'
  | 'datetime';

export type FormMode = 'add' | 'edit';
export type Translate = (key: string, vars?: Record<string, string | number>) => string;

// What a field's toSubmit answers when the field is left out of the request body.
export const OMIT: unique symbol = Symbol('omit');

export interface FieldSpec {
  name: string;
  label: string;
  help: string;
  kind: FieldKind;
  required: boolean;
  rules: RuleObject[];
  // The form value a new record starts with (from the descriptor's default).
  initialValue: unknown;
  options?: { value: string; label: string }[];
  related?: { table: string; display: string };
  // Secrets are never read back: not prefilled, and left out when left empty.
  writeOnly: boolean;
  // The API's value (a row's column) as the input's value.
  toForm: (v: unknown) => unknown;
  // The input's value as the API's value, or OMIT.
  toSubmit: (v: unknown) => unknown;
}

export function fieldKind(d: FieldInfo): FieldKind {
  if (d.write_only) return 'password';
  const ui = d['ui-type'];
  switch (d.type) {
    case 'Integer':
      return 'integer';
    case 'Float':
      return 'float';
    case 'Boolean':
      return 'switch';
    case 'DateTime':
    case 'Date':
      return 'datetime';
    case 'JSON':
      return 'json';
    case 'Enum':
      return 'select';
    case 'Related':
      return 'related';
    case 'RelatedList':
      return 'relatedMulti';
    case 'Text':
      return 'textarea';
  }
  // An unknown type falls back on the ui-type the server suggests.
  switch (ui) {
    case 'textArea':
      return 'textarea';
    case 'json':
      return 'json';
    case 'radio':
      return 'switch';
    case 'datePicker':
      return 'datetime';
    case 'select':
      return d.values?.length ? 'select' : d.related ? 'related' : 'input';
    case 'select2':
      return 'relatedMulti';
  }
  return 'input';
}

const isBlank = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
const codePoints = (s: string) => Array.from(s).length;

function parseJsonText(s: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(s) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

// A JSON column's value as the text its editor holds: pretty-printed, two spaces.
export function prettyJson(v: unknown): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v === 'string') {
    const p = parseJsonText(v);
    return p.ok ? JSON.stringify(p.value, null, 2) : v;
  }
  return JSON.stringify(v, null, 2);
}

function relationId(v: unknown): number | string | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  if (typeof v === 'object' && !Array.isArray(v) && 'id' in v) return (v as { id: number | string }).id;
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function toBool(v: unknown): boolean {
  if (typeof v === 'string') return ['true', '1', 'yes', 'y'].includes(v.toLowerCase());
  return Boolean(v);
}

// The descriptor's default ("3", "true", "{}": info.c writes every default as a string) as a
// form value.
function defaultValue(kind: FieldKind, d: FieldInfo, toForm: (v: unknown) => unknown): unknown {
  if (d.default === undefined || d.default === null) {
    if (kind === 'switch') return false;
    if (kind === 'relatedMulti') return [];
    return undefined;
  }
  return toForm(d.default);
}

function buildRules(kind: FieldKind, d: FieldInfo, mode: FormMode, t: Translate): { rules: RuleObject[]; required: boolean } {
  const rules: RuleObject[] = [];
  const label = d.label || d.name;
  const required =
    kind !== 'switch' &&
    (mode === 'add' ? d.required || d.validators.some((v) => v.type === 'DataRequired') : false);
  if (required) {
    const message = t('generic.form.required', { field: label });
    // A string of spaces is as empty as no value. Only strings get `whitespace`: any key besides
    // required and message makes the validator check that the value is a string, which would
    // refuse a relation's id or a number.
    const stringy = kind === 'input' || kind === 'textarea' || kind === 'json' || kind === 'password';
    rules.push(stringy ? { required: true, whitespace: true, message } : { required: true, message });
  }
  const textual = kind === 'input' || kind === 'textarea' || kind === 'password';
  for (const v of d.validators) {
    if (v.type === 'Length' && textual) {
      const min = typeof v.min === 'number' ? v.min : null;
      const max = typeof v.max === 'number' ? v.max : null;
      if (min === null && max === null) continue;
      const message =
        min !== null && max !== null
          ? t('generic.form.lengthBetween', { field: label, min, max })
          : min !== null
            ? t('generic.form.lengthMin', { field: label, min })
            : t('generic.form.lengthMax', { field: label, max: max as number });
      rules.push({
        // Counted in characters, as the server counts (UTF-8 characters, not UTF-16 units).
        validator: async (_r, value: unknown) => {
          if (isBlank(value)) return;
          const n = codePoints(String(value));
          if ((min !== null && n < min) || (max !== null && n > max)) throw new Error(message);
        },
      });
    } else if (v.type === 'Regexp' && v.regex && textual) {
      let re: RegExp | null = null;
      try {
        re = new RegExp(v.regex);
      } catch {
        re = null; // a POSIX expression JavaScript cannot read: the server still checks it
      }
      if (!re) continue;
      const rx = re;
      const message = t('generic.form.pattern', { field: label, pattern: v.regex });
      rules.push({
        validator: async (_r, value: unknown) => {
          if (isBlank(value)) return;
          if (!rx.test(String(value))) throw new Error(message);
        },
      });
    } else if (v.type === 'NumberRange' && (kind === 'integer' || kind === 'float')) {
      const min = typeof v.min === 'number' ? v.min : null;
      const max = typeof v.max === 'number' ? v.max : null;
      if (min === null && max === null) continue;
      const message =
        min !== null && max !== null
          ? t('generic.form.rangeBetween', { field: label, min, max })
          : min !== null
            ? t('generic.form.rangeMin', { field: label, min })
            : t('generic.form.rangeMax', { field: label, max: max as number });
      rules.push({
        validator: async (_r, value: unknown) => {
          const n = toNumber(value);
          if (n === null) return;
          if ((min !== null && n < min) || (max !== null && n > max)) throw new Error(message);
        },
      });
    } else if (v.type === 'Email' && textual) {
      const message = t('generic.form.email', { field: label });
      rules.push({
        validator: async (_r, value: unknown) => {
          if (isBlank(value)) return;
          if (!/^[^@\s]+@[^@\s]+$/.test(String(value))) throw new Error(message);
        },
      });
    }
  }
  if (kind === 'integer') {
    const message = t('generic.form.integer', { field: label });
    rules.push({
      validator: async (_r, value: unknown) => {
        if (value === null || value === undefined || value === '') return;
        if (!Number.isInteger(toNumber(value))) throw new Error(message);
      },
    });
  }
  if (kind === 'json') {
    rules.push({
      validator: async (_r, value: unknown) => {
        if (isBlank(value)) return;
        const p = parseJsonText(String(value));
        if (!p.ok) throw new Error(t('generic.form.json', { field: label, error: p.error }));
        // The API stores JSON columns as objects or arrays, never a bare number or string.
        if (p.value === null || typeof p.value !== 'object')
          throw new Error(t('generic.form.jsonObject', { field: label }));
      },
    });
  }
  return { rules, required };
}

export function fieldSpec(d: FieldInfo, mode: FormMode, t: Translate): FieldSpec {
  const kind = fieldKind(d);
  // In an add form a blank field is left out (the database default applies); in an edit form a
  // cleared field is sent as null, so clearing means clearing.
  const blank = mode === 'add' ? OMIT : null;
  let toForm: (v: unknown) => unknown;
  let toSubmit: (v: unknown) => unknown;

  switch (kind) {
    case 'password':
      toForm = () => '';
      toSubmit = (v) => (isBlank(v) ? OMIT : String(v));
      break;
    case 'input':
    case 'textarea':
      toForm = (v) => (v === null || v === undefined ? '' : typeof v === 'string' ? v : String(v));
      toSubmit = (v) => {
        if (mode === 'add') return isBlank(v) ? OMIT : String(v);
        return v === null || v === undefined ? '' : String(v);
      };
      break;
    case 'integer':
    case 'float':
      toForm = (v) => toNumber(v);
      toSubmit = (v) => {
        const n = toNumber(v);
        return n === null ? blank : n;
      };
      break;
    case 'switch':
      toForm = (v) => toBool(v);
      toSubmit = (v) => toBool(v);
      break;
    case 'select':
      toForm = (v) => (v === null || v === undefined || v === '' ? undefined : String(v));
      toSubmit = (v) => (isBlank(v) ? blank : String(v));
      break;
    case 'related':
      toForm = (v) => relationId(v);
      toSubmit = (v) => {
        const id = relationId(v);
        return id === undefined ? blank : id;
      };
      break;
    case 'relatedMulti':
      toForm = (v) => (Array.isArray(v) ? v.map(relationId).filter((x) => x !== undefined) : []);
      toSubmit = (v) => (Array.isArray(v) ? v.map(relationId).filter((x) => x !== undefined) : []);
      break;
    case 'json':
      toForm = (v) => prettyJson(v);
      toSubmit = (v) => {
        // No JSON column accepts null; an emptied editor leaves the value as it is.
        if (isBlank(v)) return OMIT;
        const p = parseJsonText(String(v));
        return p.ok ? p.value : String(v);
      };
      break;
    case 'datetime':
      toForm = (v) => toLocalInput(v);
      toSubmit = (v) => {
        if (isBlank(v)) return blank;
        return fromLocalInput(String(v)) ?? String(v);
      };
      break;
  }

  const { rules, required } = buildRules(kind, d, mode, t);
  return {
    name: d.name,
    label: d.label || d.name,
    help: d.description || '',
    kind,
    required,
    rules,
    initialValue: kind === 'password' ? '' : defaultValue(kind, d, toForm),
    options: d.values?.map((c) => ({ value: String(c.id), label: c.value })),
    related: d.related ? { table: d.related, display: d.related_display || 'name' } : undefined,
    writeOnly: kind === 'password',
    toForm,
    toSubmit,
  };
}

export function fieldSpecs(fields: FieldInfo[], mode: FormMode, t: Translate): FieldSpec[] {
  return fields.map((f) => fieldSpec(f, mode, t));
}

// The form's starting values: a row's values for an edit, defaults (then any preset values,
// e.g. a project chosen on the page that opened the form) for an add.
export function initialValues(specs: FieldSpec[], mode: FormMode, row?: Row | null, preset?: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of specs) {
    if (mode === 'edit') out[s.name] = s.writeOnly ? '' : s.toForm(row?.[s.name]);
    else out[s.name] = s.initialValue;
    if (preset && preset[s.name] !== undefined && !s.writeOnly) out[s.name] = s.toForm(preset[s.name]);
  }
  return out;
}

// The request body from the form's values. For an edit, `initial` (the values the form started
// with) limits the body to what changed, so an update never rewrites fields nobody touched.
export function submitValues(specs: FieldSpec[], values: Record<string, unknown>, initial?: Record<string, unknown>): Row {
  const body: Row = {};
  for (const s of specs) {
    if (!(s.name in values)) continue;
    const v = s.toSubmit(values[s.name]);
    if (v === OMIT) continue;
    if (initial && s.name in initial && !s.writeOnly) {
      const before = s.toSubmit(initial[s.name]);
      if (JSON.stringify(before === OMIT ? null : before) === JSON.stringify(v)) continue;
    }
    body[s.name] = v;
  }
  return body;
}

// The API names the field a write failed on at the start of its message ("name: longer than
// maximum length 50", "project, user: already exists"). Returns those fields of the form with
// the rest of the message, or null when the message names none of them.
export function fieldErrorsFrom(message: string, fieldNames: string[]): { fields: string[]; text: string } | null {
  const m = /^([A-Za-z_][A-Za-z0-9_]*(?:, ?[A-Za-z_][A-Za-z0-9_]*)*): (.+)$/s.exec(message.trim());
  if (!m) return null;
  const named = m[1].split(',').map((s) => s.trim());
  const fields = named.filter((n) => fieldNames.includes(n));
  if (!fields.length) return null;
  return { fields, text: m[2] };
}
