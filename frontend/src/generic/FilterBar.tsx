// The filter bar of a list: rows of column / operator / value, with exactly the columns and
// operators the server advertises in _info.filters. Edited as a draft; applied on Enter or
// Search, so typing does not reload the list on every key.
import { useEffect, useMemo, useState } from 'react';
import { Button, Input, Select, Space } from 'antd';
import { CloseOutlined, PlusOutlined, SearchOutlined } from '@ant-design/icons';
import type { ResourceInfo, Row } from '../api';
import { useT } from '../i18n';
import type { FieldInfo } from './fieldSpec';
import { fromLocalInput, isRelation, relationLabel, toLocalInput } from './format';
import type { ListFilter } from './listQuery';
import { RelatedSelect } from './RelatedSelect';
import { SelectOnUse } from './SelectOnUse';

export interface FilterBarProps {
  info: ResourceInfo;
  applied: ListFilter[];
  onApply: (filters: ListFilter[]) => void;
  // The rows on screen: they name the related rows a filter without a descriptor can pick.
  rows: Row[];
  // Columns not offered (fixed by the page, e.g. the project of a per-project list).
  exclude?: string[];
}

// The operator a new filter row starts with: the one a person most likely means.
const PREFERRED_OPS = ['ct', 'eq', 'rel_o_m', 'rel_m_m'];

export function defaultOperator(ops: { operator: string }[]): string {
  for (const p of PREFERRED_OPS) if (ops.some((o) => o.operator === p)) return p;
  return ops[0]?.operator ?? 'eq';
}

// The column a new filter row starts with: the name-like column, else the first one.
export function defaultColumn(info: ResourceInfo, exclude: string[] = []): string | undefined {
  const cols = Object.keys(info.filters).filter((c) => !exclude.includes(c));
  for (const c of ['name', 'title', 'username', 'label']) if (cols.includes(c)) return c;
  return cols.find((c) => c !== 'id') ?? cols[0];
}

function ValueInput(props: {
  info: ResourceInfo;
  filter: ListFilter;
  rows: Row[];
  onChange: (v: string) => void;
  onEnter: () => void;
  index: number;
}) {
  const t = useT();
  const { info, filter, rows, onChange, onEnter, index } = props;
  const fi = info.filters[filter.col];
  const multi = filter.opr === 'in';
  const aria = t('generic.filter.value');
  const common = { 'aria-label': aria, 'data-testid': `filter-value-${index}` };
  const descriptor = useMemo(
    () => [...info.add_columns, ...info.edit_columns].find((c) => c.name === filter.col) as FieldInfo | undefined,
    [info, filter.col],
  );
  const relatedFromRows = useMemo(() => {
    const seen = new Map<string, string>();
    for (const r of rows) {
      const v = r[filter.col];
      const list = Array.isArray(v) ? v : [v];
      for (const x of list) if (isRelation(x)) seen.set(String(x.id), relationLabel(x));
    }
    return [...seen].map(([value, label]) => ({ value, label }));
  }, [rows, filter.col]);

  if (!fi) return <Input disabled style={{ width: 220 }} {...common} />;
  const split = (s: string) => s.split(',').filter(Boolean);

  if (fi.values?.length || fi.type === 'Boolean') {
    const options = fi.values?.length
      ? fi.values.map((v) => ({ value: String(v.id), label: v.value }))
      : [
          { value: 'true', label: t('generic.yes') },
          { value: 'false', label: t('generic.no') },
        ];
    return (
      <Select
        {...common}
        style={{ minWidth: 180 }}
        mode={multi ? 'multiple' : undefined}
        options={options}
        value={multi ? split(filter.value) : filter.value || undefined}
        onChange={(v: string | string[]) => onChange(Array.isArray(v) ? v.join(',') : (v ?? ''))}
        placeholder={t('generic.filter.valuePlaceholder')}
      />
    );
  }
  if (fi.type === 'Related' || fi.type === 'RelatedList') {
    if (descriptor?.related)
      return (
        <RelatedSelect
          {...common}
          table={descriptor.related}
          display={descriptor.related_display ?? 'name'}
          multiple={multi}
          style={{ minWidth: 220 }}
          value={multi ? split(filter.value) : filter.value || undefined}
          onChange={(v) => onChange(Array.isArray(v) ? v.join(',') : v === undefined ? '' : String(v))}
        />
      );
    if (relatedFromRows.length)
      return (
        <Select
          {...common}
          style={{ minWidth: 200 }}
          showSearch
          optionFilterProp="label"
          mode={multi ? 'multiple' : undefined}
          options={relatedFromRows}
          value={multi ? split(filter.value) : filter.value || undefined}
          onChange={(v: string | string[]) => onChange(Array.isArray(v) ? v.join(',') : (v ?? ''))}
          placeholder={t('generic.filter.valuePlaceholder')}
        />
      );
  }
  if (fi.type === 'DateTime' && !multi)
    return (
      <Input
        {...common}
        type="datetime-local"
        style={{ width: 220 }}
        value={toLocalInput(filter.value)}
        onChange={(e) => onChange(fromLocalInput(e.target.value) ?? '')}
        onPressEnter={onEnter}
      />
    );
  return (
    <Input
      {...common}
      style={{ width: 220 }}
      value={filter.value}
      onChange={(e) => onChange(e.target.value)}
      onPressEnter={onEnter}
      inputMode={fi.type === 'Integer' || fi.type === 'Float' ? 'decimal' : undefined}
      placeholder={multi ? t('generic.filter.inPlaceholder') : t('generic.filter.valuePlaceholder')}
      allowClear
    />
  );
}

export function FilterBar({ info, applied, onApply, rows, exclude = [] }: FilterBarProps) {
  const t = useT();
  const columns = Object.keys(info.filters).filter((c) => !exclude.includes(c));
  const starter = (): ListFilter[] => {
    const col = defaultColumn(info, exclude);
    return col ? [{ col, opr: defaultOperator(info.filters[col].filter), value: '' }] : [];
  };
  const [draft, setDraft] = useState<ListFilter[]>(() => (applied.length ? applied : starter()));
  const appliedKey = JSON.stringify(applied);
  // The URL changed under us (back button, a link): show what is applied now.
  useEffect(() => {
    setDraft(applied.length ? applied : starter());
  }, [appliedKey, info]);

  if (!columns.length) return null;
  const colOptions = columns.map((c) => ({ value: c, label: info.label_columns[c] ?? c }));
  const update = (i: number, f: Partial<ListFilter>) => setDraft((d) => d.map((x, k) => (k === i ? { ...x, ...f } : x)));
  const apply = (d = draft) => onApply(d.filter((f) => f.col && f.opr && f.value.trim() !== ''));
  const opLabel = (op: { name: string; operator: string }) => {
    const k = `generic.op.${op.operator}`;
    const s = t(k);
    return s === k ? op.name : s;
  };

  return (
    <div data-testid="filter-bar" style={{ display: 'flex', flexWrap: 'wrap', gap: 8, alignItems: 'flex-start' }}>
      {draft.map((f, i) => {
        const ops = info.filters[f.col]?.filter ?? [];
        return (
          <Space.Compact key={i} data-testid="filter-row">
            {/* The real Selects mount at first use (SelectOnUse): two per filter row on every list. */}
            <SelectOnUse<string>
              compact="first"
              aria-label={t('generic.filter.column')}
              data-testid={`filter-col-${i}`}
              style={{ width: 150 }}
              showSearch
              optionFilterProp="label"
              options={colOptions}
              value={f.col || undefined}
              onChange={(col: string) => update(i, { col, opr: defaultOperator(info.filters[col]?.filter ?? []), value: '' })}
            />
            <SelectOnUse<string>
              compact="middle"
              aria-label={t('generic.filter.operator')}
              data-testid={`filter-op-${i}`}
              style={{ width: 150 }}
              options={ops.map((o) => ({ value: o.operator, label: opLabel(o) }))}
              value={f.opr || undefined}
              onChange={(opr: string) => update(i, { opr, value: opr === 'in' || f.opr === 'in' ? '' : f.value })}
            />
            <ValueInput
              info={info}
              filter={f}
              rows={rows}
              index={i}
              onChange={(value) => update(i, { value })}
              onEnter={() => apply()}
            />
            <Button
              aria-label={t('generic.filter.remove')}
              title={t('generic.filter.remove')}
              icon={<CloseOutlined />}
              onClick={() => {
                const next = draft.filter((_, k) => k !== i);
                setDraft(next);
                // Removing an applied filter takes effect at once.
                if (applied.some((a) => a.col === f.col && a.opr === f.opr && a.value === f.value)) apply(next);
              }}
            />
          </Space.Compact>
        );
      })}
      <Space wrap>
        <Button
          icon={<PlusOutlined />}
          data-testid="filter-add"
          onClick={() => {
            const col = defaultColumn(info, exclude) ?? columns[0];
            setDraft((d) => [...d, { col, opr: defaultOperator(info.filters[col]?.filter ?? []), value: '' }]);
          }}
        >
          {t('generic.filter.add')}
        </Button>
        <Button type="primary" icon={<SearchOutlined />} data-testid="filter-apply" onClick={() => apply()}>
          {t('generic.filter.apply')}
        </Button>
        {applied.length > 0 && (
          <Button
            data-testid="filter-reset"
            onClick={() => {
              setDraft(starter());
              onApply([]);
            }}
          >
            {t('generic.filter.reset')}
          </Button>
        )}
      </Space>
    </div>
  );
}
