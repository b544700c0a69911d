// An antd Select that costs nothing until it is used. A closed antd Select still mounts its
// whole machinery (rc-select's state and hooks, the popup trigger with its resize observer and
// portal bookkeeping, the search input, antd's style hooks and contexts); a list page draws
// three of them before anyone touches one (the filter bar's column and operator, the page-size
// changer of the pagination), a few per cent of the first load's main-thread work.
//
// SelectOnUse draws what a closed single Select shows, with antd's class names (so the styles
// made at build time by tools/antdCss.ts apply, see lite.tsx): the selected option's label, or
// the placeholder, and the arrow. It swaps in the real Select, with the same props, at the
// first pointer enter (a click that follows lands on the real one and opens it, as before),
// when it gets the focus (Tab: the real one takes the focus over, so typing then searches in
// it), or at a press that came without either (it opens). From then on the real Select stays.
//
// Only what the stand-in cannot tell from its props is a prop of its own: its place in a
// Space.Compact (antd's compact context is internal), which the real Select reads itself.
import { useLayoutEffect, useRef, useState, type CSSProperties, type ReactNode } from 'react';
import { flushSync } from 'react-dom';
import { Select, type RefSelectProps, type SelectProps } from 'antd';
import { DownOutlined } from '@ant-design/icons';
import { useAntdHash } from './lite';

export interface SelectOnUseOption<V> {
  value: V;
  label: ReactNode;
}

export type SelectOnUseProps<V extends string | number> = SelectProps<V, SelectOnUseOption<V>> & {
  // Where it sits in a Space.Compact, for the stand-in's classes.
  compact?: 'first' | 'middle' | 'last';
  'data-testid'?: string;
};

type Armed = null | 'pointer' | 'focus' | 'open';

export function SelectOnUse<V extends string | number>({ compact, ...props }: SelectOnUseProps<V>) {
  const [armed, setArmed] = useState<Armed>(null);
  const ref = useRef<RefSelectProps>(null);
  const hash = useAntdHash();
  useLayoutEffect(() => {
    // The stand-in had the focus (or was pressed): the real one takes it over, once the commit
    // is through (before any key can arrive). Focused during its own mount, rc-select's focus
    // state is set by a timer that React's development double mount clears.
    if (armed !== 'focus' && armed !== 'open') return;
    queueMicrotask(() => {
      ref.current?.focus();
      // Opened by that focus (showAction below); later focus does not open it.
      if (armed === 'open') setArmed('pointer');
    });
  }, [armed]);

  if (armed)
    return <Select<V, SelectOnUseOption<V>> ref={ref} {...props} showAction={armed === 'open' ? ['focus'] : props.showAction} />;

  // The pointer's swap is committed inside its event, so the press that follows lands on the
  // real Select. The focus's is not: React commits it right after the event, and the real
  // Select then takes the focus as after any Tab (moved from inside the focus event, it missed
  // that it has it and was drawn unfocused).
  const arm = (how: Armed) => (how === 'pointer' ? flushSync(() => setArmed(how)) : setArmed(how));
  const { value, options, placeholder, disabled, showSearch, size, className, style, variant = 'outlined' } = props;
  const ariaLabel = props['aria-label'];
  const label = value === undefined || value === null ? undefined : (options?.find((o) => o.value === value)?.label ?? value);
  const cls = [
    'ant-select',
    `ant-select-${variant}`,
    compact && 'ant-select-compact-item',
    compact === 'first' && 'ant-select-compact-first-item',
    compact === 'last' && 'ant-select-compact-last-item',
    className,
    hash,
    'ant-select-single',
    'ant-select-show-arrow',
    showSearch && 'ant-select-show-search',
    size === 'small' && 'ant-select-sm',
    size === 'large' && 'ant-select-lg',
    disabled && 'ant-select-disabled',
  ]
    .filter(Boolean)
    .join(' ');
  const hiddenInput: CSSProperties | undefined = showSearch ? undefined : { opacity: 0 };
  return (
    <div
      className={cls}
      style={style}
      aria-label={ariaLabel}
      data-testid={props['data-testid']}
      onMouseEnter={() => arm('pointer')}
      onMouseDown={(e) => {
        // A press without a pointer enter before it (the element appeared under the pointer).
        e.preventDefault();
        if (!disabled) arm('open');
      }}
    >
      <div className="ant-select-selector">
        <span className="ant-select-selection-wrap">
          <span className="ant-select-selection-search">
            {/* What the real Select focuses and announces: a combobox, in the tab order. */}
            <input
              type="search"
              autoComplete="off"
              className="ant-select-selection-search-input"
              role="combobox"
              aria-expanded={false}
              aria-haspopup="listbox"
              aria-autocomplete="list"
              aria-label={ariaLabel}
              tabIndex={0}
              readOnly
              unselectable={showSearch ? undefined : 'on'}
              disabled={disabled}
              value=""
              style={hiddenInput}
              onFocus={() => arm('focus')}
            />
          </span>
          {label !== undefined ? (
            <span className="ant-select-selection-item" title={typeof label === 'string' || typeof label === 'number' ? String(label) : undefined}>
              {label}
            </span>
          ) : (
            placeholder !== undefined && <span className="ant-select-selection-placeholder">{placeholder}</span>
          )}
        </span>
      </div>
      <span className="ant-select-arrow" unselectable="on" aria-hidden style={{ userSelect: 'none' }}>
        <DownOutlined className="ant-select-suffix" />
      </span>
    </div>
  );
}
