// A select over the rows of a related view, searching on the server as the user types
// (the view's list with a "contains" filter on the display column, so the caller's scope
// applies: one sees only the projects one may pick).
import { useEffect, useMemo, useState, type CSSProperties } from 'react';
import { Select, Typography } from 'antd';
import { useQuery } from '@tanstack/react-query';
import { ApiError, resource, type Filter, type Row } from '../api';
import { useT } from '../i18n';
import { relationLabel } from './format';
import { useInfo, useRelatedView } from './related';

type Id = number | string;

export interface RelatedSelectProps {
  // The related table (as a field descriptor names it) or the view itself.
  table?: string;
  view?: string;
  // The column rows are named by (related_display).
  display: string;
  value?: Id | Id[] | null;
  onChange?: (v: Id | Id[] | undefined) => void;
  multiple?: boolean;
  id?: string;
  placeholder?: string;
  allowClear?: boolean;
  disabled?: boolean;
  style?: CSSProperties;
  'aria-label'?: string;
  'data-testid'?: string;
  // Filters every search also applies (e.g. only the projects of one type).
  filters?: Filter[];
  // Labels already known (from the row being edited), so the value shows its name at once.
  known?: { id: Id; label: string }[];
}

function useDebounced<T>(v: T, ms: number): T {
  const [d, setD] = useState(v);
  useEffect(() => {
    const h = setTimeout(() => setD(v), ms);
    return () => clearTimeout(h);
  }, [v, ms]);
  return d;
}

function labelOf(row: Row, display: string): string {
  const v = row[display];
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  return relationLabel(row);
}

export function RelatedSelect(props: RelatedSelectProps) {
  const t = useT();
  const related = useRelatedView(props.view ? undefined : props.table);
  const view = props.view ?? related;
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim(), 250);
  const { display } = props;

  // Search and order by the display column only where the related view allows it.
  const rinfo = useInfo(view);
  const searchOp = ['ct', 'sw', 'eq'].find((op) => rinfo.data?.filters[display]?.filter.some((o) => o.operator === op));
  const orderable = !!rinfo.data?.order_columns.includes(display);
  // A view the caller may not list (users, for anyone but an admin) is not asked: the options
  // are then the values already known (props.known).
  const listable = !!rinfo.data?.user_permissions.list;

  const list = useQuery({
    queryKey: ['list', view, 'related-select', display, q, props.filters ?? []],
    queryFn: ({ signal }) =>
      resource.list(
        view as string,
        {
          filters: [...(props.filters ?? []), ...(q && searchOp ? [{ col: display, opr: searchOp, value: q }] : [])],
          page_size: 20,
          ...(orderable ? { order_column: display, order_direction: 'asc' as const } : {}),
        },
        signal,
      ),
    enabled: !!view && !props.disabled && listable,
    placeholderData: (prev) => prev,
    staleTime: 30_000,
  });

  const values: Id[] = props.value === null || props.value === undefined ? [] : Array.isArray(props.value) ? props.value : [props.value];
  const knownIds = new Set<string>([
    ...(props.known ?? []).map((k) => String(k.id)),
    ...(list.data?.data ?? []).map((r) => String(r.id)),
  ]);
  const missing = values.filter((v) => !knownIds.has(String(v)));

  // A value chosen earlier (from the URL or the row) that is not on the current page of
  // options: its name is looked up once.
  const lookup = useQuery({
    queryKey: ['list', view, 'related-labels', display, missing.map(String).sort()],
    queryFn: ({ signal }) =>
      resource.list(view as string, { filters: [{ col: 'id', opr: 'in', value: missing.map(String) }], page_size: missing.length }, signal),
    enabled: !!view && listable && missing.length > 0,
    staleTime: 60_000,
  });

  const options = useMemo(() => {
    const seen = new Set<string>();
    const out: { value: Id; label: string }[] = [];
    const add = (id: Id, label: string) => {
      if (seen.has(String(id))) return;
      seen.add(String(id));
      out.push({ value: id, label });
    };
    for (const r of list.data?.data ?? []) add(r.id as Id, labelOf(r, display));
    for (const r of lookup.data?.data ?? []) add(r.id as Id, labelOf(r, display));
    for (const k of props.known ?? []) add(k.id, k.label);
    return out;
  }, [list.data, lookup.data, props.known, display]);

  const failed = list.error ?? rinfo.error;
  const err = failed instanceof ApiError || failed instanceof Error ? failed.message : null;

  // Values are ids; the option values keep the type the API gave (numbers).
  const normalise = (v: Id): Id => options.find((o) => String(o.value) === String(v))?.value ?? v;

  return (
    <Select
      id={props.id}
      aria-label={props['aria-label']}
      data-testid={props['data-testid']}
      mode={props.multiple ? 'multiple' : undefined}
      showSearch
      filterOption={false}
      searchValue={search}
      onSearch={setSearch}
      onOpenChange={(open) => {
        if (!open) setSearch('');
      }}
      value={props.multiple ? values.map(normalise) : values.length ? normalise(values[0]) : undefined}
      onChange={(v: Id | Id[] | undefined) => props.onChange?.(v ?? undefined)}
      options={options}
      loading={list.isFetching}
      allowClear={props.allowClear ?? true}
      disabled={props.disabled}
      placeholder={props.placeholder ?? t('generic.related.placeholder')}
      style={props.style ?? { width: '100%' }}
      notFoundContent={
        err ? (
          <Typography.Text type="danger">{err}</Typography.Text>
        ) : list.isFetching ? (
          t('generic.loading')
        ) : (
          t('generic.related.none')
        )
      }
    />
  );
}
