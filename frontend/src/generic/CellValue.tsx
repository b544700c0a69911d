// How a value of any column looks in a table cell or on a show page. Its tags and "—" are the
// stand-ins of lite.tsx: a list draws one per cell.
import { useT } from '../i18n';
import { Hint } from './Hint';
import { LiteSecondary, LiteTag } from './lite';
import { compactJson, formatTime, isRelation, isRelationList, isTimestamp, relationLabel, truncate } from './format';

export interface CellValueProps {
  value: unknown;
  // Show pages give a value room: whole text, JSON pretty-printed.
  full?: boolean;
  // Characters a table cell shows before it cuts the text (the rest is in a tooltip).
  max?: number;
}

function Cut({ text, max, mono }: { text: string; max: number; mono?: boolean }) {
  const { text: shown, cut } = truncate(text, max);
  const style = mono ? { fontFamily: 'monospace', fontSize: 12 } : undefined;
  if (!cut) return <span style={style}>{text}</span>;
  return (
    <Hint title={<span style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>{text}</span>}>
      <span style={style} tabIndex={0}>
        {shown}
      </span>
    </Hint>
  );
}

export function CellValue({ value, full = false, max = 60 }: CellValueProps) {
  const t = useT();
  if (value === null || value === undefined || value === '') return <LiteSecondary>—</LiteSecondary>;
  if (typeof value === 'boolean')
    return <LiteTag color={value ? 'green' : 'default'}>{value ? t('generic.yes') : t('generic.no')}</LiteTag>;
  if (typeof value === 'number') return <span>{value}</span>;
  if (typeof value === 'string') {
    if (isTimestamp(value))
      return (
        <span title={`${value} UTC`} style={{ whiteSpace: 'nowrap' }}>
          {formatTime(value)}
        </span>
      );
    if (full) return <span style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>{value}</span>;
    return <Cut text={value} max={max} />;
  }
  if (isRelation(value)) return <span>{relationLabel(value)}</span>;
  if (isRelationList(value))
    return (
      <span>
        {value.map((r) => (
          <LiteTag key={String(r.id)}>{relationLabel(r)}</LiteTag>
        ))}
      </span>
    );
  // An empty list (no roles, no items) reads as "nothing", like an empty value.
  if (Array.isArray(value) && value.length === 0) return <LiteSecondary>—</LiteSecondary>;
  if (full)
    return (
      <pre style={{ margin: 0, fontSize: 12, whiteSpace: 'pre-wrap', wordBreak: 'break-word', maxHeight: 400, overflow: 'auto' }}>
        {JSON.stringify(value, null, 2)}
      </pre>
    );
  return <Cut text={compactJson(value)} max={max} mono />;
}
