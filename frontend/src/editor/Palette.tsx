// The job templates one can put on the canvas, grouped by their category (the template's
// project, type job-template) and filtered by a search box. A template is dragged onto the
// canvas, or added with Enter / double-click for keyboard users.
import { memo, useMemo, useState, type DragEvent, type KeyboardEvent } from 'react';
import { Empty, Input, Tag, Typography } from 'antd';
import { SearchOutlined } from '@ant-design/icons';
import { useT } from '../i18n';
import type { Template } from './model';

export const TEMPLATE_MIME = 'application/x-cube-template';

interface Props {
  templates: Template[];
  disabled: boolean;
  onAdd: (tmpl: Template) => void;
}

function matches(tmpl: Template, q: string): boolean {
  if (!q) return true;
  const hay = `${tmpl.name} ${tmpl.describe ?? ''} ${tmpl.project?.name ?? ''}`.toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => hay.includes(w));
}

function PaletteView({ templates, disabled, onAdd }: Props) {
  const t = useT();
  const [q, setQ] = useState('');
  const groups = useMemo(() => {
    const by = new Map<string, Template[]>();
    const sorted = [...templates].sort(
      (a, b) => (a.expand?.index ?? 1e9) - (b.expand?.index ?? 1e9) || a.name.localeCompare(b.name),
    );
    for (const tmpl of sorted) {
      if (!matches(tmpl, q.trim())) continue;
      const g = tmpl.project?.name ?? '';
      const list = by.get(g);
      if (list) list.push(tmpl);
      else by.set(g, [tmpl]);
    }
    return [...by.entries()].sort(([a], [b]) => (a === '' ? 1 : b === '' ? -1 : a.localeCompare(b)));
  }, [templates, q]);

  const onDragStart = (e: DragEvent<HTMLDivElement>, tmpl: Template) => {
    e.dataTransfer.setData(TEMPLATE_MIME, String(tmpl.id));
    e.dataTransfer.effectAllowed = 'copy';
  };
  const onKey = (e: KeyboardEvent<HTMLDivElement>, tmpl: Template) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      if (!disabled) onAdd(tmpl);
    }
  };

  return (
    <aside className="cube-editor__palette" aria-label={t('editor.palette.title')}>
      <div style={{ padding: '8px 8px 0' }}>
        <Typography.Text strong>{t('editor.palette.title')}</Typography.Text>
        <Input
          allowClear
          size="small"
          prefix={<SearchOutlined />}
          placeholder={t('editor.palette.search')}
          aria-label={t('editor.palette.search')}
          value={q}
          onChange={(e) => setQ(e.target.value)}
          style={{ marginTop: 6 }}
          data-testid="palette-search"
        />
        <Typography.Text type="secondary" style={{ fontSize: 12, display: 'block', marginTop: 4 }}>
          {disabled ? t('editor.palette.readOnly') : t('editor.palette.hint')}
        </Typography.Text>
      </div>
      <div className="cube-editor__palette-list">
        {groups.length === 0 && <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('editor.palette.empty')} />}
        {groups.map(([group, list]) => (
          <div key={group || '-'} role="group" aria-label={group || t('editor.palette.other')}>
            <div className="cube-editor__group">{group || t('editor.palette.other')}</div>
            {list.map((tmpl) => (
              <div
                key={tmpl.id}
                className="cube-palette-item"
                role="button"
                tabIndex={0}
                draggable={!disabled}
                aria-disabled={disabled}
                aria-label={t('editor.palette.add', { name: tmpl.name })}
                title={tmpl.describe || tmpl.name}
                data-testid={`palette-${tmpl.name}`}
                onDragStart={(e) => onDragStart(e, tmpl)}
                onDoubleClick={() => !disabled && onAdd(tmpl)}
                onKeyDown={(e) => onKey(e, tmpl)}
              >
                <div className="cube-palette-item__name">
                  {tmpl.name}
                  {tmpl.version && tmpl.version !== 'Release' && (
                    <Tag color="orange" style={{ marginInlineStart: 6, fontSize: 10, lineHeight: '16px' }}>
                      {tmpl.version}
                    </Tag>
                  )}
                </div>
                {tmpl.describe && <div className="cube-palette-item__desc">{tmpl.describe}</div>}
              </div>
            ))}
          </div>
        ))}
      </div>
    </aside>
  );
}

export const Palette = memo(PaletteView);
