// Which API view lists the rows of a related table. A field descriptor names the related
// *table* ("project", "users"); the rows are listed by a view ("project_modelview", "users"),
// and the set of views is the OpenAPI document's paths. Also the shared _info query.
import { useQuery } from '@tanstack/react-query';
import { request, resource, type FormData, type ResourceInfo } from '../api';
import { useI18n } from '../i18n';
import { zhInfo } from '../i18n/labels';
import { buildFormData, readListState } from './listQuery';

// Views whose name does not follow from their table.
const TABLE_VIEWS: Record<string, string> = {
  run: 'workflow_modelview',
  audit_log: 'log_modelview',
  api_token: 'token_modelview',
};

export function viewForTable(table: string, views: readonly string[]): string {
  const known = new Set(views);
  const candidates = [TABLE_VIEWS[table], `${table}_modelview`, table, `${table}s`, `${table}s_modelview`];
  for (const c of candidates) if (c && known.has(c)) return c;
  return TABLE_VIEWS[table] ?? `${table}_modelview`;
}

export function viewsFromOpenapi(doc: { paths?: Record<string, unknown> } | null | undefined): string[] {
  const out: string[] = [];
  for (const p of Object.keys(doc?.paths ?? {})) {
    const m = /^\/api\/([^/]+)\/_info$/.exec(p);
    if (m) out.push(m[1]);
  }
  return out;
}

// The API's views; the document only changes with the server, so it is read once.
export function useViews() {
  return useQuery({
    queryKey: ['openapi-views'],
    queryFn: () => request<{ paths?: Record<string, unknown> }>('/api/openapi.json').then(viewsFromOpenapi),
    staleTime: Infinity,
    gcTime: Infinity,
  });
}

export function useRelatedView(table: string | undefined): string | undefined {
  const views = useViews();
  if (!table) return undefined;
  return views.data ? viewForTable(table, views.data) : undefined;
}

export const infoKey = (view: string) => ['info', view] as const;

// _info depends on who asks (permissions) but not on time: cached for the session.
export const infoQuery = (view: string) => ({
  queryKey: infoKey(view),
  queryFn: () => resource.info(view),
  staleTime: 10 * 60_000,
});

// In the language of the page: the cache holds the server's English document, and a Chinese
// page reads it through zhInfo (i18n/labels.ts).
export function useInfo(view: string | undefined) {
  const { lang } = useI18n();
  return useQuery<ResourceInfo>({ ...infoQuery(view ?? ''), enabled: !!view, select: lang === 'zh' ? zhInfo : undefined });
}

// One page of a list. Keyed ['list', view, form_data]: invalidate ['list', view] after changing
// rows of the view and every list of it refreshes.
export const listQuery = (view: string, fd: FormData) => ({
  queryKey: ['list', view, fd] as const,
  queryFn: ({ signal }: { signal?: AbortSignal }) => resource.list(view, fd, signal),
});

// Where a list remembers, in this browser, the columns chosen for a view.
export const columnsStorageKey = (view: string) => `cube.columns.${view}`;

// The first page of a list page's first load as the list will ask for it (the address's
// filters, page and order), so that asking it early is asking it once; null with a column
// choice, whose columns the list asks depend on _info. Asked early by routes.tsx's warmStart
// and, before the app's code has arrived, by index.html (tools/early.ts).
export function firstPageQuery(view: string, search: string): FormData | null {
  if (localStorage.getItem(columnsStorageKey(view)) !== null) return null;
  return buildFormData(readListState(new URLSearchParams(search)), { defaultPageSize: 20 });
}

// One record as GET /api/<view>/<id> returns it (show and edit pages share it).
export const rowKey = (view: string, id: string | number) => ['row', view, String(id)] as const;
