// Pure helpers that turn API values into text. The API writes timestamps as UTC without a zone
// ("2026-11-30T02:38:48"; columns of json_build_object carry "+00:00"), relations as
// {"id": 1, "<display column>": "..."}, JSON columns as objects.

const TIME_RE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

export function isTimestamp(v: unknown): v is string {
  return typeof v === 'string' && TIME_RE.test(v);
}

// A server timestamp as a Date; one without a zone is UTC.
export function parseServerTime(s: string): Date | null {
  if (!isTimestamp(s)) return null;
  const iso = s.replace(' ', 'T');
  const zoned = /(Z|[+-]\d{2}(:?\d{2})?)$/.test(iso.slice(10)) ? iso : `${iso}Z`;
  const d = new Date(zoned);
  return Number.isNaN(d.getTime()) ? null : d;
}

const pad = (n: number) => String(n).padStart(2, '0');

// "YYYY-MM-DD HH:mm:ss" in the browser's time zone.
export function formatTime(s: string): string {
  const d = parseServerTime(s);
  if (!d) return s;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// For <input type="datetime-local">: the server's UTC time as local "YYYY-MM-DDTHH:mm".
export function toLocalInput(v: unknown): string {
  if (typeof v !== 'string' || !v) return '';
  const d = parseServerTime(v);
  if (!d) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// The local time a datetime-local input holds, as an ISO UTC string the API accepts.
export function fromLocalInput(s: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(s)) return null;
  const d = new Date(s); // no zone in a date-time form: the browser's local time
  return Number.isNaN(d.getTime()) ? null : d.toISOString().replace(/\.000Z$/, 'Z');
}

// Columns a related row is named by, in the order they are tried.
const DISPLAY_KEYS = ['name', 'username', 'label', 'title', 'describe'];

export function isRelation(v: unknown): v is Record<string, unknown> & { id: number | string } {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  // Exactly what the API builds for a relation: the id and one display column.
  const keys = Object.keys(v);
  if (keys.length !== 2 || !keys.includes('id')) return false;
  const other = (v as Record<string, unknown>)[keys[0] === 'id' ? keys[1] : keys[0]];
  return other === null || typeof other === 'string' || typeof other === 'number';
}

// The text a related row {"id":1,"username":"admin"} stands for.
export function relationLabel(v: Record<string, unknown>): string {
  for (const k of DISPLAY_KEYS) {
    const s = v[k];
    if (typeof s === 'string' && s) return s;
  }
  const other = Object.keys(v).find((k) => k !== 'id' && (typeof v[k] === 'string' || typeof v[k] === 'number'));
  return other ? String(v[other]) : `#${String(v.id)}`;
}

export function isRelationList(v: unknown): v is Array<Record<string, unknown> & { id: number | string }> {
  return Array.isArray(v) && v.length > 0 && v.every(isRelation);
}

export function compactJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return String(v);
  }
}

// Cuts text to max characters (code points, so a surrogate pair is never split).
export function truncate(s: string, max: number): { text: string; cut: boolean } {
  const chars = Array.from(s);
  if (chars.length <= max) return { text: s, cut: false };
  return { text: `${chars.slice(0, max).join('')}…`, cut: true };
}

// A plain-text rendering of any cell value (CSV-like; used for titles and tooltips).
export function plainText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return isTimestamp(v) ? formatTime(v) : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isRelation(v)) return relationLabel(v);
  if (Array.isArray(v) && v.every(isRelation)) return v.map(relationLabel).join(', ');
  return compactJson(v);
}
