// A list's filters, page and order live in the URL's query string so that a filtered list can
// be linked to and survives a reload:
//   ?f=name:ct:demo&f=type:eq:org&sort=-created_on&page=2&ps=50
// (f = column:operator:value, repeated; sort = column, "-" for descending; page counts from 1).
// A prefix keeps two lists on one page apart. Pure, so it is unit-tested.
import type { Filter, FormData } from '../api';

export interface ListFilter {
  col: string;
  opr: string;
  value: string;
}

export interface ListState {
  filters: ListFilter[];
  page: number; // 0-based, as the API counts
  pageSize: number | null; // null: the list's default
  order: { col: string; dir: 'asc' | 'desc' } | null;
}

export const emptyListState: ListState = { filters: [], page: 0, pageSize: null, order: null };

export function readListState(sp: URLSearchParams, prefix = ''): ListState {
  const filters: ListFilter[] = [];
  for (const raw of sp.getAll(`${prefix}f`)) {
    const a = raw.indexOf(':');
    const b = a < 0 ? -1 : raw.indexOf(':', a + 1);
    if (a <= 0 || b <= a + 1) continue;
    filters.push({ col: raw.slice(0, a), opr: raw.slice(a + 1, b), value: raw.slice(b + 1) });
  }
  const page = Number(sp.get(`${prefix}page`));
  const ps = Number(sp.get(`${prefix}ps`));
  const sort = sp.get(`${prefix}sort`) ?? '';
  const desc = sort.startsWith('-');
  const col = desc ? sort.slice(1) : sort;
  return {
    filters,
    page: Number.isInteger(page) && page >= 1 ? page - 1 : 0,
    pageSize: Number.isInteger(ps) && ps > 0 ? ps : null,
    order: col ? { col, dir: desc ? 'desc' : 'asc' } : null,
  };
}

// The query string with this list's keys replaced by the state; other keys stay as they are.
export function writeListState(sp: URLSearchParams, st: ListState, prefix = ''): URLSearchParams {
  const out = new URLSearchParams(sp);
  for (const k of ['f', 'page', 'ps', 'sort']) out.delete(`${prefix}${k}`);
  for (const f of st.filters) out.append(`${prefix}f`, `${f.col}:${f.opr}:${f.value}`);
  if (st.order) out.set(`${prefix}sort`, `${st.order.dir === 'desc' ? '-' : ''}${st.order.col}`);
  if (st.page > 0) out.set(`${prefix}page`, String(st.page + 1));
  if (st.pageSize) out.set(`${prefix}ps`, String(st.pageSize));
  return out;
}

// A filter's text as the API wants it: "in" takes an array (typed as a comma-separated list).
// Everything else goes as the string: the API converts "3", "true" or an id itself.
export function apiFilterValue(opr: string, value: string): unknown {
  if (opr === 'in') return value.split(',').map((s) => s.trim()).filter(Boolean);
  return value;
}

// Filters without a value are still being typed: they do not filter yet.
export function activeFilters(filters: ListFilter[]): Filter[] {
  return filters
    .filter((f) => f.col && f.opr && f.value.trim() !== '')
    .map((f) => ({ col: f.col, opr: f.opr, value: apiFilterValue(f.opr, f.value) }));
}

export function buildFormData(
  st: ListState,
  opts: { fixedFilters?: Filter[]; columns?: string[]; defaultPageSize: number },
): FormData {
  const fd: FormData = {
    filters: [...(opts.fixedFilters ?? []), ...activeFilters(st.filters)],
    page: st.page,
    page_size: st.pageSize ?? opts.defaultPageSize,
  };
  if (st.order) {
    fd.order_column = st.order.col;
    fd.order_direction = st.order.dir;
  }
  if (opts.columns?.length) fd.columns = opts.columns;
  return fd;
}
