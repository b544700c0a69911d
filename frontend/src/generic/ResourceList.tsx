// The list of any API view, drawn from its _info: columns, labels, server-side paging and
// sorting, the filter bar, column choice, row and multi-row actions, CSV export and import,
// and the create button. Pages of their own (pipelines, runs, members, ...) are built on it.
//
// Its queries are keyed ['list', view, ...]: invalidate ['list', view] after changing rows of
// the view elsewhere and every list of it refreshes.
import { isValidElement, startTransition, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import {
  Alert,
  App,
  Button,
  Checkbox,
  Divider,
  Empty,
  Modal,
  Popconfirm,
  Popover,
  Space,
  Table,
  Tooltip,
  theme,
  Typography,
  type CheckboxProps,
  type TableColumnsType,
  type TableProps,
} from 'antd';
import {
  DeleteOutlined,
  DownloadOutlined,
  EditOutlined,
  EyeOutlined,
  PlusOutlined,
  ReloadOutlined,
  SettingOutlined,
  UploadOutlined,
} from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import { ApiError, resource, type ActionInfo, type Filter, type ResourceInfo, type Row } from '../api';
import { useT } from '../i18n';
import { CellValue } from './CellValue';
import { formatTime, isRelation, isTimestamp, relationLabel, truncate } from './format';
import { Hint, useOpenedOnce } from './Hint';
import { LinkButton } from './LinkButton';
import { LiteButton, LiteCheckbox, LiteLink, LiteSpace } from './lite';
import { FilterBar } from './FilterBar';
import { buildFormData, emptyListState, readListState, writeListState, type ListFilter, type ListState } from './listQuery';
import { columnsStorageKey, listQuery, useInfo } from './related';
import { SelectOnUse } from './SelectOnUse';

export interface ResourceListProps {
  view: string;
  title?: ReactNode;
  fixedFilters?: Filter[] /* always applied, e.g. a run list per pipeline */;
  rowActions?: (row: Row) => ReactNode /* extra links/buttons in the actions column */;
  toolbarExtra?: ReactNode;
  rowLink?: (row: Row) => string | null /* where clicking the primary column goes; default /r/<view>/<id> */;
  refetchInterval?: number;
  hideCreate?: boolean;
  createLink?: string;
  // Prefix of this list's keys in the query string, so two lists on one page keep apart.
  urlPrefix?: string;
  // A small table inside another page: state kept in memory, no filter bar, no CSV, no column
  // chooser, small rows.
  compact?: boolean;
  hideFilters?: boolean;
  // Text of the delete action (e.g. "Revoke" for tokens).
  deleteLabel?: string;
  defaultPageSize?: number;
  // A cell of its own for some columns (a run's state as a coloured tag, ...).
  columnRender?: Record<string, (value: unknown, row: Row) => ReactNode>;
  // Columns not shown at all (e.g. the project when the list is of one project).
  hideColumns?: string[];
  // Single-row actions of the view the page replaces with its own buttons (still offered for
  // several selected rows when the action allows it).
  hideActions?: string[];
  'data-testid'?: string;
}

const PAGE_SIZES = [10, 20, 50, 100];

// How many rows of a list's first page can be in sight before anything is scrolled: its data
// rows start at least this far down the window (the app's header, the page's margin, the list's
// title row and its margin, the table's header; the filter bar when there is one) and are at
// least this tall (one line of text in a 'middle' table; with a small button in the row actions,
// the button's height). An overestimate: the rows under them are drawn a frame later.
const ROWS_TOP = 64 + 24 + 32 + 12 + 47;
const FILTER_BAR = 44;
const ROW_MIN_HEIGHT = { text: 47, button: 49 };
const rowsInSight = (filterBar: boolean, buttons: boolean): number =>
  Math.max(1, Math.ceil((window.innerHeight - ROWS_TOP - (filterBar ? FILTER_BAR : 0)) / ROW_MIN_HEIGHT[buttons ? 'button' : 'text']));

// How many of a list's columns can be in sight before anything is scrolled sideways. A column
// starts no further left than the frame puts the table (the menu, folded below antd's lg
// breakpoint; the page's margin; the selection column) plus the least widths of the columns
// before it: each is at least as wide as its title or the widest text of its drawn cells
// (measured in the table's fonts, a tenth off for a font that differs; the cells' padding and a
// sorter's icon added). The row actions' column, fixed at the right, covers at least its title's
// width of what is left of the window. Columns after the first one that starts past that are
// out of sight however the rest lays out; they are drawn a frame later, with the rows out of
// sight. Cells whose text is not known here (tags, JSON, a page's own rendering) count by their
// title only: again a least width. The columns drawn still fill the table's width, so those in
// sight are laid out as they will stay.
const MENU_WIDTH = { folded: 64, open: 220, breakpoint: 992 };
const PAGE_MARGIN = 24;
const SELECTION_WIDTH = 32;
const CELL_PADDING = 16;
const SORTER_MIN = 12;
const TEXT_SLACK = 0.9;

// The text CellValue draws for a value, where it draws only text; null where it draws more.
function cellText(v: unknown): string | null {
  if (v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) return '—';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return isTimestamp(v) ? formatTime(v) : truncate(v, 60).text;
  if (isRelation(v)) return relationLabel(v);
  return null;
}

let measureCtx: CanvasRenderingContext2D | null | undefined;
function textWidth(text: string, font: string): number {
  measureCtx ??= document.createElement('canvas').getContext('2d');
  if (!measureCtx) return 0;
  if (measureCtx.font !== font) measureCtx.font = font;
  return measureCtx.measureText(text).width * TEXT_SLACK;
}

function columnsInSight(
  cols: string[],
  rows: Row[],
  opts: {
    title: (c: string) => string;
    sortable: (c: string) => boolean;
    textOnly: (c: string) => boolean;
    selection: boolean;
    actionsTitle: string | null;
    fontFamily: string;
  },
): number {
  const header = `600 14px ${opts.fontFamily}`;
  const body = `14px ${opts.fontFamily}`;
  const menu = window.innerWidth < MENU_WIDTH.breakpoint ? MENU_WIDTH.folded : MENU_WIDTH.open;
  let left = menu + PAGE_MARGIN + (opts.selection ? SELECTION_WIDTH : 0);
  const right = window.innerWidth - PAGE_MARGIN - (opts.actionsTitle === null ? 0 : textWidth(opts.actionsTitle, header) + CELL_PADDING);
  for (let i = 0; i < cols.length; i++) {
    if (left >= right) return i;
    const c = cols[i];
    let w = textWidth(opts.title(c), header) + (opts.sortable(c) ? SORTER_MIN : 0);
    // Any one cell's text is a least width of its column: the longest one, measured alone.
    let longest = '';
    if (opts.textOnly(c))
      for (const r of rows) {
        const text = cellText(r[c]);
        if (text !== null && text.length > longest.length) longest = text;
      }
    if (longest) w = Math.max(w, textWidth(longest, body));
    left += w + CELL_PADDING;
  }
  return cols.length;
}

// Whether every row has a button of the row actions (LiteButton, small): show, edit, delete or
// an action of the view, as the actions column below draws them.
function rowButtons(inf: ResourceInfo, hideActions: string[] | undefined): boolean {
  const p = inf.user_permissions;
  return (
    p.show ||
    (p.edit && inf.edit_columns.length > 0) ||
    p.delete ||
    Object.values(inf.action ?? {}).some((a) => a.single && !hideActions?.includes(a.name))
  );
}

// The row selection's checkboxes drawn light (lite.tsx): antd's Table makes an antd Checkbox
// element per row with the handlers of its selection (ranges with shift, the select-all state);
// LiteCheckbox takes those props and draws the same, without a Checkbox component per row.
function liteCheckbox(node: ReactNode): ReactNode {
  return isValidElement<CheckboxProps>(node) ? <LiteCheckbox {...node.props} /> : node;
}

const rowSelectionLite = {
  renderCell: (_checked: boolean, _row: Row, _i: number, node: ReactNode) => liteCheckbox(node),
  // With a columnTitle antd leaves out the wrapper it puts around its own select-all box.
  columnTitle: (node: ReactNode) => <div className="ant-table-selection">{liteCheckbox(node)}</div>,
};

// The page-size changer mounts its antd Select at first use (SelectOnUse). Through an option
// antd marks as internal (and warns about in development, where the real Select is used).
const pageSizeSelect = import.meta.env.DEV ? undefined : SelectOnUse;

function useListState(prefix: string, inUrl: boolean): [ListState, (s: ListState, push?: boolean) => void] {
  const [sp, setSp] = useSearchParams();
  const [local, setLocal] = useState<ListState>(emptyListState);
  const fromUrl = useMemo(() => readListState(sp, prefix), [sp, prefix]);
  if (!inUrl) return [local, (s) => setLocal(s)];
  return [fromUrl, (s, push) => setSp((prev) => writeListState(prev, s, prefix), { replace: !push })];
}

// The column choice of a view, remembered in this browser.
function useChosenColumns(view: string): [string[] | null, (c: string[] | null) => void] {
  const key = columnsStorageKey(view);
  const read = () => {
    try {
      const v = JSON.parse(localStorage.getItem(key) ?? 'null') as unknown;
      return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null;
    } catch {
      return null;
    }
  };
  const [cols, setCols] = useState<string[] | null>(read);
  // Another view (same component, new props) reads its own choice.
  useEffect(() => setCols(read()), [key]);
  return [
    cols,
    (c) => {
      if (c) localStorage.setItem(key, JSON.stringify(c));
      else localStorage.removeItem(key);
      setCols(c);
    },
  ];
}

// The column that names a row and links to it.
export function primaryColumn(cols: string[]): string | undefined {
  for (const c of ['name', 'title', 'username', 'label']) if (cols.includes(c)) return c;
  return cols.find((c) => c !== 'id') ?? cols[0];
}

interface UploadReport {
  message: string;
  results: string[];
}

export default function ResourceList(props: ResourceListProps) {
  const { view, compact = false } = props;
  const t = useT();
  const { message, modal } = App.useApp();
  const { token } = theme.useToken();
  const qc = useQueryClient();
  const info = useInfo(view);
  const [state, setState] = useListState(props.urlPrefix ?? '', !compact);
  const [chosen, setChosen] = useChosenColumns(view);
  const [selected, setSelected] = useState<Array<number | string>>([]);
  const [busyAction, setBusyAction] = useState<string | null>(null);
  const [uploadReport, setUploadReport] = useState<UploadReport | null>(null);
  // antd puts a Tooltip ("Click to sort ascending") on every sortable header, and another on
  // its copy in the row that measures the columns: twenty tooltips (a twentieth of the first
  // load's main-thread work) mounted before anyone points at a header. They are put in when the
  // pointer first enters the list, as a transition (no frame held up); the pointer reaches a
  // header after crossing the list's toolbar, filter bar or first column. (Put in at the header
  // itself, the one under the pointer would have to be opened by hand, and antd's copy of it in
  // the measuring row, which nobody hovers, then stayed open on the screen.)
  const [sortHints, setSortHints] = useState(false);
  // The first page arrives with the first load: its rows out of sight (with 20 rows at 1280x800,
  // a third of them) are drawn right after the first paint rather than before it, so the rows
  // in sight come sooner. Each row is a good deal of work (its cells, antd's table re-rendering
  // them once it has measured the columns, their style and layout); later pages draw all at once.
  const [allRows, setAllRows] = useState(compact);
  const drawnInFull = useRef(false); // the first page needed no second pass
  const reportMounted = useOpenedOnce(!!uploadReport);
  const csvInput = useRef<HTMLInputElement>(null);

  const inf = info.data;
  const hidden = useMemo(() => new Set(props.hideColumns ?? []), [props.hideColumns]);
  const allCols = useMemo(() => (inf?.list_columns ?? []).filter((c) => !hidden.has(c)), [inf, hidden]);
  const visibleCols = useMemo(() => {
    const ch = chosen?.filter((c) => allCols.includes(c));
    return ch && ch.length ? allCols.filter((c) => ch.includes(c)) : allCols;
  }, [chosen, allCols]);
  const defaultPageSize = props.defaultPageSize ?? (compact ? 10 : 20);
  const fd = useMemo(
    () =>
      buildFormData(state, {
        fixedFilters: props.fixedFilters,
        // The API returns only the chosen columns (form_data.columns): less to send and render.
        columns: visibleCols.length < (inf?.list_columns.length ?? 0) ? visibleCols : undefined,
        defaultPageSize,
      }),
    [state, props.fixedFilters, visibleCols, inf, defaultPageSize],
  );
  const fdKey = JSON.stringify(fd);

  const list = useQuery({
    ...listQuery(view, fd),
    // Asked at once, beside _info rather than after it: the first page of a list is one
    // round trip sooner.  Once _info says the list is not allowed, it is not asked again.
    enabled: inf ? !!inf.user_permissions.list : true,
    placeholderData: (prev) => prev,
    refetchInterval: props.refetchInterval,
  });
  // Kept as it is when nothing is selected: a new empty array re-rendered the whole list right
  // after its first paint.
  useEffect(() => setSelected((s) => (s.length ? [] : s)), [fdKey]);
  const firstRows =
    allRows || drawnInFull.current || !list.data ? Infinity : rowsInSight(!props.hideFilters, !!inf && rowButtons(inf, props.hideActions));
  const partial = (list.data?.data.length ?? 0) > firstRows;
  useEffect(() => {
    if (allRows || !list.data) return;
    if (!partial) {
      drawnInFull.current = true; // nothing to add: no render for it
      return;
    }
    // requestAnimationFrame runs before the frame's paint, a timeout set there after it.
    let timer = 0;
    const frame = requestAnimationFrame(() => {
      timer = window.setTimeout(() => setAllRows(true));
    });
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  }, [allRows, list.data, partial]);

  if (info.isError)
    return <Alert type="error" showIcon message={t('generic.loadFailed')} description={info.error.message} role="alert" />;
  if (!inf) return <Table loading columns={[]} dataSource={[]} />;
  if (!inf.user_permissions.list) return <Alert type="warning" showIcon message={t('generic.noPermission')} />;

  const perms = inf.user_permissions;
  const actions = Object.values(inf.action ?? {});
  const singleActions = actions.filter((a) => a.single && !props.hideActions?.includes(a.name));
  const multiActions = actions.filter((a) => a.multiple);
  const canEdit = perms.edit && inf.edit_columns.length > 0;
  const canAdd = perms.add && inf.add_columns.length > 0 && !props.hideCreate;
  const rows = list.data?.data ?? [];
  const shownRows = partial ? rows.slice(0, firstRows) : rows;
  const invalidate = () => qc.invalidateQueries({ queryKey: ['list', view] });
  const linkOf = (row: Row): string | null =>
    props.rowLink ? props.rowLink(row) : perms.show ? `/r/${view}/${String(row.id)}` : null;

  // Filters of the page (e.g. this project) preset the same fields of a new record.
  const createHref = (() => {
    if (props.createLink) return props.createLink;
    const q = new URLSearchParams();
    for (const f of props.fixedFilters ?? [])
      if ((f.opr === 'eq' || f.opr === 'rel_o_m') && inf.add_columns.some((c) => c.name === f.col)) q.set(f.col, String(f.value));
    const s = q.toString();
    return `/r/${view}/new${s ? `?${s}` : ''}`;
  })();

  async function runSingle(a: ActionInfo, row: Row) {
    const go = async () => {
      setBusyAction(`${a.name}:${String(row.id)}`);
      try {
        await resource.action(view, a.name, row.id as number);
        message.success(t('generic.action.done', { action: a.text }));
        await invalidate();
      } catch (e) {
        message.error(e instanceof Error ? e.message : String(e));
      } finally {
        setBusyAction(null);
      }
    };
    if (a.confirmation) modal.confirm({ title: a.text, content: a.confirmation, onOk: go });
    else await go();
  }

  function runMulti(a: ActionInfo) {
    const ids = selected;
    modal.confirm({
      title: `${a.text} (${ids.length})`,
      content: a.confirmation || t('generic.action.confirm', { action: a.text, n: ids.length }),
      okButtonProps: { danger: a.name === 'muldelete' },
      onOk: async () => {
        try {
          const r = (await resource.multiAction(view, a.name, ids)) as { success?: unknown[]; fail?: unknown[] } | null;
          if (r && Array.isArray(r.success) && Array.isArray(r.fail))
            (r.fail.length ? message.warning : message.success)(
              t('generic.action.multiDone', { action: a.text, ok: r.success.length, fail: r.fail.length }),
            );
          else message.success(t('generic.action.done', { action: a.text }));
          setSelected([]);
          await invalidate();
        } catch (e) {
          message.error(e instanceof Error ? e.message : String(e));
        }
      },
    });
  }

  async function remove(row: Row) {
    try {
      await resource.remove(view, row.id as number);
      message.success(t('generic.deleted'));
      await invalidate();
    } catch (e) {
      message.error(e instanceof Error ? e.message : String(e));
    }
  }

  async function importCsv(file: File) {
    const body = new FormData();
    body.append('csv_file', file, file.name);
    try {
      const res = await fetch(`/api/${view}/upload/`, { method: 'POST', body, credentials: 'same-origin' });
      const j = (await res.json().catch(() => null)) as { status?: number; message?: string; result?: unknown } | null;
      if (!res.ok || !j || j.status !== 0) throw new ApiError(j?.message || `${res.status} ${res.statusText}`, res.status, j);
      setUploadReport({ message: j.message ?? '', results: Array.isArray(j.result) ? j.result.map(String) : [] });
      await invalidate();
    } catch (e) {
      message.error(e instanceof Error ? e.message : String(e));
    }
  }

  const primary = primaryColumn(visibleCols);
  const hasSelection = multiActions.length > 0 && !compact;
  const hasRowActions = rowButtons(inf, props.hideActions) || !!props.rowActions;
  // With the rows out of sight left for a frame later, the columns out of sight too (the table's
  // bottom, where its scroll bar shows how wide it is, is then out of sight as well).
  const shownCols = partial
    ? visibleCols.slice(
        0,
        columnsInSight(visibleCols, shownRows, {
          title: (c) => inf.label_columns[c] ?? c,
          sortable: (c) => inf.order_columns.includes(c),
          textOnly: (c) => !props.columnRender?.[c],
          selection: hasSelection,
          actionsTitle: hasRowActions ? t('generic.actions') : null,
          fontFamily: token.fontFamily,
        }),
      )
    : visibleCols;
  const columns: TableColumnsType<Row> = shownCols.map((c) => ({
    key: c,
    dataIndex: c,
    title: inf.description_columns[c] ? (
      <Hint title={inf.description_columns[c]}>
        <span>{inf.label_columns[c] ?? c}</span>
      </Hint>
    ) : (
      (inf.label_columns[c] ?? c)
    ),
    sorter: inf.order_columns.includes(c),
    sortOrder: state.order?.col === c ? (state.order.dir === 'asc' ? 'ascend' : 'descend') : null,
    sortDirections: ['ascend', 'descend'],
    render: (v: unknown, row: Row) => {
      const cell = props.columnRender?.[c] ? props.columnRender[c](v, row) : <CellValue value={v} />;
      const href = c === primary ? linkOf(row) : null;
      return href ? (
        <LiteLink to={href} data-testid="row-link">
          {cell}
        </LiteLink>
      ) : (
        cell
      );
    },
  }));

  if (hasRowActions)
    columns.push({
      key: '_actions',
      title: t('generic.actions'),
      fixed: compact ? undefined : 'right',
      render: (_: unknown, row: Row) => (
        <LiteSpace data-testid="row-actions">
          {props.rowActions?.(row)}
          {perms.show && (
            <Hint title={t('generic.show')}>
              <LiteButton to={props.rowLink?.(row) ?? `/r/${view}/${String(row.id)}`} aria-label={t('generic.show')} icon={<EyeOutlined />} />
            </Hint>
          )}
          {canEdit && (
            <Hint title={t('generic.edit')}>
              <LiteButton to={`/r/${view}/${String(row.id)}/edit`} aria-label={t('generic.edit')} data-testid="row-edit" icon={<EditOutlined />} />
            </Hint>
          )}
          {singleActions.map((a) => (
            <LiteButton
              key={a.name}
              loading={busyAction === `${a.name}:${String(row.id)}`}
              onClick={() => void runSingle(a, row)}
              data-testid={`row-action-${a.name}`}
            >
              {a.text}
            </LiteButton>
          ))}
          {perms.delete && (
            <DeleteButton
              label={props.deleteLabel ?? t('generic.delete')}
              confirm={t('generic.deleteConfirm')}
              cancel={t('generic.cancel')}
              onConfirm={() => remove(row)}
            />
          )}
        </LiteSpace>
      ),
    });

  const onChange: TableProps<Row>['onChange'] = (pg, _filters, sorter, extra) => {
    if (extra.action === 'sort') {
      const s = Array.isArray(sorter) ? sorter[0] : sorter;
      const col = s?.order ? String(s.columnKey ?? s.field) : null;
      setState({ ...state, page: 0, order: col ? { col, dir: s.order === 'ascend' ? 'asc' : 'desc' } : null });
    } else if (extra.action === 'paginate') {
      const size = pg.pageSize ?? defaultPageSize;
      const sizeChanged = size !== (state.pageSize ?? defaultPageSize);
      setState({ ...state, page: sizeChanged ? 0 : (pg.current ?? 1) - 1, pageSize: size === defaultPageSize ? null : size });
    }
  };

  const applyFilters = (filters: ListFilter[]) => setState({ ...state, filters, page: 0 }, true);
  const filtered = state.filters.length > 0;

  const columnChooser = (
    <Popover
      trigger="click"
      placement="bottomRight"
      title={t('generic.columns')}
      content={
        <div style={{ maxHeight: 360, overflow: 'auto' }} data-testid="column-chooser">
          <Checkbox.Group
            style={{ display: 'flex', flexDirection: 'column', gap: 4 }}
            value={visibleCols}
            options={allCols.map((c) => ({ value: c, label: inf.label_columns[c] ?? c }))}
            onChange={(v) => setChosen(v.length === allCols.length || v.length === 0 ? null : (v as string[]))}
          />
          <Divider style={{ margin: '8px 0' }} />
          <Button size="small" onClick={() => setChosen(null)}>
            {t('generic.columnsAll')}
          </Button>
        </div>
      }
    >
      <Button icon={<SettingOutlined />} data-testid="list-columns">
        {t('generic.columns')}
      </Button>
    </Popover>
  );

  const toolbar = (
    <Space wrap>
      {selected.length > 0 &&
        multiActions.map((a) => (
          <Button key={a.name} danger={a.name === 'muldelete'} onClick={() => runMulti(a)} data-testid={`multi-action-${a.name}`}>
            {a.text} ({selected.length})
          </Button>
        ))}
      {props.toolbarExtra}
      <Hint title={t('generic.refresh')}>
        <Button
          icon={<ReloadOutlined />}
          aria-label={t('generic.refresh')}
          onClick={() => void list.refetch()}
          loading={list.isFetching && !list.isLoading}
        />
      </Hint>
      {!compact && columnChooser}
      {!compact && inf.download_data && (
        // Every row the filters match (page_size -1: the server's maximum), not just this page.
        <Button icon={<DownloadOutlined />} href={resource.downloadUrl(view, { ...fd, page: 0, page_size: -1 })} download data-testid="list-export">
          {t('generic.exportCsv')}
        </Button>
      )}
      {!compact && inf.import_data && (
        <Space.Compact>
          <Button icon={<UploadOutlined />} onClick={() => csvInput.current?.click()} data-testid="list-import">
            {t('generic.importCsv')}
          </Button>
          <Hint title={t('generic.importTemplate')}>
            <Button icon={<DownloadOutlined />} href={`/api/${view}/download_template/`} download aria-label={t('generic.importTemplate')} />
          </Hint>
        </Space.Compact>
      )}
      {canAdd && (
        <LinkButton to={createHref} type="primary" icon={<PlusOutlined />} data-testid="list-create">
          {t('generic.create')}
        </LinkButton>
      )}
    </Space>
  );

  // title={null} asks for no title at all.
  const title = props.title !== undefined ? props.title : compact ? null : inf.list_title;
  const empty = list.isError ? (
    <Alert
      type="error"
      showIcon
      role="alert"
      message={t('generic.loadFailed')}
      description={list.error.message}
      action={<Button onClick={() => void list.refetch()}>{t('generic.retry')}</Button>}
    />
  ) : (
    <Empty
      image={Empty.PRESENTED_IMAGE_SIMPLE}
      description={filtered ? t('generic.emptyFiltered') : t('generic.empty', { what: inf.label_title })}
    >
      {filtered ? (
        <Button onClick={() => applyFilters([])}>{t('generic.filter.reset')}</Button>
      ) : (
        canAdd && (
          <LinkButton to={createHref} type="primary" icon={<PlusOutlined />}>
            {t('generic.create')}
          </LinkButton>
        )
      )}
    </Empty>
  );

  return (
    <div
      data-testid={props['data-testid'] ?? 'resource-list'}
      data-view={view}
      onMouseEnter={sortHints ? undefined : () => startTransition(() => setSortHints(true))}
    >
      <div style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center', gap: 16, flexWrap: 'wrap', marginBottom: 12 }}>
        {title ? (
          <Typography.Title level={compact ? 5 : 4} style={{ margin: 0 }}>
            {title}
          </Typography.Title>
        ) : (
          <span />
        )}
        {toolbar}
      </div>
      {!compact && !props.hideFilters && (
        <div style={{ marginBottom: 12 }}>
          <FilterBar
            info={inf}
            applied={state.filters}
            onApply={applyFilters}
            rows={rows}
            exclude={[...(props.hideColumns ?? []), ...(props.fixedFilters ?? []).map((f) => f.col)]}
          />
        </div>
      )}
      {list.isError && rows.length > 0 && (
        <Alert type="error" showIcon role="alert" message={list.error.message} style={{ marginBottom: 12 }} />
      )}
      <Table<Row>
        rowKey={(r) => String(r.id)}
        size={compact ? 'small' : 'middle'}
        columns={columns}
        dataSource={shownRows}
        // Also while new filters or a new page load: the old rows stay on screen meanwhile.
        loading={list.isLoading || (list.isFetching && list.isPlaceholderData)}
        onChange={onChange}
        scroll={{ x: 'max-content' }}
        showSorterTooltip={sortHints ? { target: 'full-header' } : false}
        locale={{ emptyText: list.isLoading ? ' ' : empty }}
        rowSelection={
          hasSelection
            ? {
                ...rowSelectionLite,
                selectedRowKeys: selected.map(String),
                onChange: (keys) => setSelected(keys.map((k) => (/^\d+$/.test(String(k)) ? Number(k) : String(k)))),
              }
            : undefined
        }
        pagination={{
          current: state.page + 1,
          pageSize: state.pageSize ?? defaultPageSize,
          total: list.data?.count ?? 0,
          showSizeChanger: !compact,
          selectComponentClass: pageSizeSelect,
          pageSizeOptions: PAGE_SIZES,
          showTotal: (n) => t('generic.total', { n }),
          hideOnSinglePage: compact,
          size: compact ? 'small' : 'default',
        }}
      />
      {!compact && inf.import_data && (
        // The file picker of "Import CSV" (antd's Upload is this input and a good deal more code,
        // loaded with every list).
        <input
          ref={csvInput}
          type="file"
          accept=".csv,text/csv"
          hidden
          onChange={(e) => {
            const f = e.target.files?.[0];
            e.target.value = ''; // the same file again is a new import
            if (f) void importCsv(f);
          }}
        />
      )}
      {reportMounted && <UploadReportModal report={uploadReport} onClose={() => setUploadReport(null)} />}
    </div>
  );
}

// A row's delete button. The confirmation and the hint mount at the first click or hover (see
// Hint): twenty rows of idle popconfirms and tooltips were a large part of a list's first render.
// Mounting them replaces the button's element; one pressed from the keyboard gets the focus back.
function DeleteButton({ label, confirm, cancel, onConfirm }: { label: string; confirm: string; cancel: string; onConfirm: () => unknown }) {
  const [open, setOpen] = useState<boolean | null>(null); // null: never opened, nothing mounted
  const ref = useRef<HTMLAnchorElement & HTMLButtonElement>(null);
  const refocus = useRef(false);
  useEffect(() => {
    if (open && refocus.current) ref.current?.focus();
    refocus.current = false;
  }, [open]);
  const button = (
    <LiteButton
      ref={ref}
      danger
      icon={<DeleteOutlined />}
      aria-label={label}
      data-testid="row-delete"
      onClick={(e) => {
        if (open !== null) return;
        refocus.current = e.currentTarget === document.activeElement;
        setOpen(true);
      }}
    />
  );
  if (open === null) return <Hint title={label}>{button}</Hint>;
  return (
    <Popconfirm title={confirm} okText={label} okButtonProps={{ danger: true }} cancelText={cancel} onConfirm={onConfirm} open={open} onOpenChange={setOpen}>
      {/* Hidden while the confirmation is open: it would cover the confirmation's own button. */}
      <Tooltip title={label} open={open ? false : undefined}>
        {button}
      </Tooltip>
    </Popconfirm>
  );
}

function UploadReportModal({ report, onClose }: { report: UploadReport | null; onClose: () => void }) {
  const t = useT();
  const failed = (report?.results ?? []).map((r, i) => ({ row: i + 1, r })).filter((x) => x.r !== 'success');
  return (
    <Modal
      open={!!report}
      onCancel={onClose}
      onOk={onClose}
      title={t('generic.importDone')}
      cancelButtonProps={{ style: { display: 'none' } }}
      destroyOnHidden
    >
      <Typography.Paragraph>{report?.message}</Typography.Paragraph>
      {failed.length > 0 && (
        <>
          <Typography.Paragraph type="danger">{t('generic.importFailedRows', { n: failed.length })}</Typography.Paragraph>
          <ul style={{ maxHeight: 240, overflow: 'auto' }}>
            {failed.map((f) => (
              <li key={f.row}>{t('generic.importRow', { row: f.row, error: f.r })}</li>
            ))}
          </ul>
        </>
      )}
    </Modal>
  );
}

