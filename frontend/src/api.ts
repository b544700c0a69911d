// The one way the app talks to Cube's REST API. Every answer has the envelope
// {status, message, result}; status 0 is success. Anything else becomes an ApiError carrying
// the server's message, so pages can show it as it is.

export class ApiError extends Error {
  readonly httpStatus: number;
  readonly body: unknown;
  constructor(message: string, httpStatus: number, body: unknown) {
    super(message);
    this.name = 'ApiError';
    this.httpStatus = httpStatus;
    this.body = body;
  }
}

export type Row = Record<string, unknown>;

export interface ListResult<T = Row> {
  data: T[];
  count: number;
}

export interface Filter {
  col: string;
  opr: string;
  value: unknown;
}

export interface FormData {
  filters?: Filter[];
  page?: number;
  page_size?: number;
  order_column?: string;
  order_direction?: 'asc' | 'desc';
  columns?: string[];
}

// Called on 401 so the shell can send the user to the login page (set by the router).
let onUnauthorized: (() => void) | null = null;
export function setUnauthorizedHandler(fn: (() => void) | null): void {
  onUnauthorized = fn;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
  // For a request whose 401 is an expected answer (the login form, the session probe).
  quiet401?: boolean;
}

function buildUrl(path: string, query?: RequestOptions['query']): string {
  const url = path.startsWith('/') ? path : `/api/${path}`;
  if (!query) return url;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v));
  const s = qs.toString();
  return s ? `${url}${url.includes('?') ? '&' : '?'}${s}` : url;
}

// The session is the HttpOnly cookie set by /api/login: fetch sends it (same origin).
export async function request<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
  const init: RequestInit = {
    method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
    headers: { Accept: 'application/json' },
    credentials: 'same-origin',
    signal: opts.signal,
  };
  if (opts.body !== undefined) {
    (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  const res = await fetch(buildUrl(path, opts.query), init);
  let body: unknown = null;
  const text = await res.text();
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiError(`${res.status} ${res.statusText}: the server did not answer JSON`, res.status, text);
    }
  }
  const env = body as { status?: number; message?: string; result?: unknown } | null;
  if (res.status === 401) {
    if (!opts.quiet401 && onUnauthorized) onUnauthorized();
    throw new ApiError(env?.message || 'Please log in', 401, body);
  }
  if (!res.ok || (env && typeof env.status === 'number' && env.status !== 0)) {
    throw new ApiError(env?.message || `${res.status} ${res.statusText}`, res.status, body);
  }
  // Some endpoints (e.g. _info, menu) answer a bare object rather than an envelope.
  if (env && typeof env === 'object' && 'status' in env && 'result' in env) return env.result as T;
  return body as T;
}

// The addresses of a view's _info and of a page of its list. index.html's early requests
// (tools/early.ts) ask the same addresses before this module has arrived, and the app's own
// request then gets that answer: both build them here, so they are the same string.
export const infoUrl = (view: string) => `/api/${view}/_info`;
export const listUrl = (view: string, fd: FormData) => buildUrl(`/api/${view}/`, { form_data: JSON.stringify(fd) });

// The generic resource endpoints, /api/<view>/...
export const resource = {
  info: (view: string) => request<ResourceInfo>(infoUrl(view)),
  list: <T = Row>(view: string, fd: FormData, signal?: AbortSignal) => request<ListResult<T>>(listUrl(view, fd), { signal }),
  show: <T = Row>(view: string, id: number | string) => request<T>(`/api/${view}/${id}`),
  create: <T = Row>(view: string, body: Row) => request<T>(`/api/${view}/`, { method: 'POST', body }),
  update: <T = Row>(view: string, id: number | string, body: Row) =>
    request<T>(`/api/${view}/${id}`, { method: 'PUT', body }),
  remove: (view: string, id: number | string) => request(`/api/${view}/${id}`, { method: 'DELETE' }),
  action: (view: string, name: string, id: number | string) => request(`/api/${view}/action/${name}/${id}`),
  multiAction: (view: string, name: string, ids: Array<number | string>) =>
    request(`/api/${view}/multi_action/${name}`, { method: 'POST', body: { ids } }),
  downloadUrl: (view: string, fd: FormData) =>
    buildUrl(`/api/${view}/download`, { form_data: JSON.stringify(fd) }),
};

// What GET /api/<view>/_info describes (the subset the app reads).
export interface FieldValidator {
  type: string;
  min?: number | null;
  max?: number | null;
  regex?: string;
}
export interface FieldChoice {
  id: string | number;
  value: string;
}
export interface FieldInfo {
  name: string;
  label: string;
  description: string;
  type: string;
  'ui-type': string;
  required: boolean;
  unique?: boolean;
  default?: unknown;
  values?: FieldChoice[];
  validators: FieldValidator[];
}
export interface FilterInfo {
  filter: { name: string; operator: string }[];
  type: string;
  'ui-type': string;
  values: FieldChoice[];
}
export interface ActionInfo {
  name: string;
  text: string;
  confirmation: string;
  icon: string;
  multiple: boolean;
  single: boolean;
}
export interface ResourceInfo {
  route_base: string;
  primary_key: string;
  label_title: string;
  list_title: string;
  add_title: string;
  edit_title: string;
  show_title: string;
  list_columns: string[];
  show_columns: string[];
  order_columns: string[];
  search_columns: string[];
  label_columns: Record<string, string>;
  description_columns: Record<string, string>;
  permissions: string[];
  user_permissions: Record<string, boolean>;
  filters: Record<string, FilterInfo>;
  add_columns: FieldInfo[];
  edit_columns: FieldInfo[];
  action: Record<string, ActionInfo>;
  download_data: boolean;
  import_data: boolean;
  page_size: number;
}
