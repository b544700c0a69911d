// Stand-ins for the antd components a list draws in every row: the same elements with the same
// class names (so antd's styles, made at build time by tools/antdCss.ts, apply unchanged) and
// the same behaviour, without the per-instance work of the real ones. An antd Button, Tag or
// Typography.Text runs its style hooks (theme token, style cache look-ups), config and
// compact-space contexts and effects on every render; a react-router Link resolves its path
// against the route tree. A list with 20 rows draws about 200 of them, and they were a quarter
// of the main thread's work on the first load of the pipeline list.
//
// Only the variants the lists use are here (link buttons of the small size, tags, secondary
// text, a wrapping space without gaps, the row selection's checkbox; the closed select of
// SelectOnUse.tsx is drawn the same way). Nothing here makes antd styles: in a build they are
// in the build-time stylesheet (tools/antdCss.ts renders Button, Tag with a preset colour,
// Typography, Space, Checkbox and Select); the dev server has no such stylesheet, and there
// LiteProvider renders one hidden real component of each kind, which makes their styles at run
// time.
import {
  Children,
  createContext,
  forwardRef,
  isValidElement,
  useContext,
  type AnchorHTMLAttributes,
  type ChangeEvent,
  type HTMLAttributes,
  type MouseEvent,
  type ReactNode,
} from 'react';
import { Button, Checkbox, Select, Space, Tag, theme, Typography, type CheckboxProps } from 'antd';
import { LoadingOutlined } from '@ant-design/icons';
import { router } from '../routes';

// antd's hashed class (`css-<hash>` in a production build): its styles are scoped to it.
const HashContext = createContext('');

export function LiteProvider({ children }: { children: ReactNode }) {
  const { hashId } = theme.useToken();
  return (
    <HashContext.Provider value={hashId}>
      {import.meta.env.DEV && (
        <div hidden aria-hidden>
          <Button type="link" size="small" danger />
          <Tag color="blue" />
          <Typography.Text type="secondary" />
          <Space>
            <span />
          </Space>
          <Checkbox />
          <Select />
        </div>
      )}
      {children}
    </HashContext.Provider>
  );
}

// The hashed class to put beside antd's class names.
export const useAntdHash = (): string => useContext(HashContext);

const basename = import.meta.env.BASE_URL.replace(/\/$/, '');
export const hrefOf = (to: string): string => `${basename}${to}`;

// What a react-router Link does with a click: a plain left click navigates inside the app (to
// the same address: replaces it), anything else is left to the browser (new tab, ...).
function followLink(e: MouseEvent<HTMLElement>, to: string, target?: string): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  if (target && target !== '_self') return;
  e.preventDefault();
  const here = window.location.pathname + window.location.search + window.location.hash;
  void router.navigate(to, { replace: here === hrefOf(to) });
}

export type LiteLinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> & { to: string; 'data-testid'?: string };

// react-router's <Link to> for an absolute path.
export const LiteLink = forwardRef<HTMLAnchorElement, LiteLinkProps>(function LiteLink({ to, onClick, ...rest }, ref) {
  return (
    <a
      {...rest}
      ref={ref}
      href={hrefOf(to)}
      onClick={(e) => {
        onClick?.(e);
        followLink(e, to, rest.target);
      }}
    />
  );
});

// Other props (a tooltip's or popconfirm's event handlers and class) go to the element.
export interface LiteButtonProps extends Omit<HTMLAttributes<HTMLElement>, 'onClick'> {
  icon?: ReactNode;
  danger?: boolean;
  loading?: boolean;
  // A link to this path of the app (an <a>, as antd's Button with href renders it).
  to?: string;
  onClick?: (e: MouseEvent<HTMLElement>) => void;
  'data-testid'?: string;
}

// antd's <Button type="link" size="small" icon danger loading href>.
export const LiteButton = forwardRef<HTMLAnchorElement & HTMLButtonElement, LiteButtonProps>(function LiteButton(
  { icon, children, danger, loading, to, onClick, className, ...rest },
  ref,
) {
  const hash = useContext(HashContext);
  const hasText = children !== undefined && children !== null && children !== false && children !== '';
  const cls =
    `ant-btn ${hash} ant-btn-link ${danger ? 'ant-btn-dangerous ant-btn-color-dangerous' : 'ant-btn-color-link'} ant-btn-variant-link ant-btn-sm` +
    (!hasText && (icon || loading) ? ' ant-btn-icon-only' : '') +
    (loading ? ' ant-btn-loading' : '') +
    (className ? ` ${className}` : '');
  const kids = (
    <>
      {loading ? (
        <span className="ant-btn-icon ant-btn-loading-icon">
          <LoadingOutlined />
        </span>
      ) : (
        icon && <span className="ant-btn-icon">{icon}</span>
      )}
      {hasText && <span>{children}</span>}
    </>
  );
  const click = (e: MouseEvent<HTMLElement>) => {
    if (loading) {
      e.preventDefault();
      return;
    }
    onClick?.(e);
    if (to !== undefined) followLink(e, to);
  };
  if (to !== undefined)
    return (
      <a {...rest} ref={ref} className={cls} href={hrefOf(to)} onClick={click} tabIndex={0} aria-disabled={false}>
        {kids}
      </a>
    );
  return (
    <button {...rest} ref={ref} type="button" className={cls} onClick={click}>
      {kids}
    </button>
  );
});

// antd's <Tag color>, for no colour, a preset colour or a status.
export function LiteTag({ color, children }: { color?: string; children: ReactNode }) {
  const hash = useContext(HashContext);
  return <span className={`ant-tag${color ? ` ant-tag-${color}` : ''} ${hash}`}>{children}</span>;
}

// antd's <Typography.Text type="secondary">.
export function LiteSecondary({ children }: { children: ReactNode }) {
  const hash = useContext(HashContext);
  return <span className={`ant-typography ant-typography-secondary ${hash}`}>{children}</span>;
}

// antd's <Space size={0} wrap>: one item element per child that is not empty.
export function LiteSpace({ children, 'data-testid': testId }: { children: ReactNode; 'data-testid'?: string }) {
  const hash = useContext(HashContext);
  return (
    <div className={`ant-space ${hash} ant-space-horizontal ant-space-align-center`} style={{ flexWrap: 'wrap' }} data-testid={testId}>
      {Children.toArray(children).map((c, i) => (
        <div className="ant-space-item" key={isValidElement(c) && c.key !== null ? c.key : i}>
          {c}
        </div>
      ))}
    </div>
  );
}

export type LiteCheckboxProps = Pick<CheckboxProps, 'checked' | 'indeterminate' | 'disabled' | 'onChange' | 'onClick'> & { 'aria-label'?: string };

// antd's <Checkbox checked indeterminate disabled> without a label, for the props antd's Table
// gives the row selection's checkboxes: a native checkbox (Space toggles it, a click on the
// label reaches it) under antd's classes, calling onChange with the event antd's own passes
// (its target, and the click behind it: the table reads shiftKey for range selection). Not
// drawn: the wave antd plays around a checkbox when it is clicked.
export function LiteCheckbox(props: LiteCheckboxProps) {
  const { checked, indeterminate, disabled, onChange, onClick } = props;
  const hash = useContext(HashContext);
  const change = (e: ChangeEvent<HTMLInputElement>) => {
    if (disabled) return;
    onChange?.({
      target: { ...props, checked: e.target.checked },
      stopPropagation: () => e.stopPropagation(),
      preventDefault: () => e.preventDefault(),
      // React's change event of a checkbox comes from the click (a MouseEvent), as antd's does.
      nativeEvent: e.nativeEvent as globalThis.MouseEvent,
    });
  };
  return (
    <label className={`ant-checkbox-wrapper${checked ? ' ant-checkbox-wrapper-checked' : ''}${disabled ? ' ant-checkbox-wrapper-disabled' : ''} ${hash}`}>
      <span
        className={
          `ant-checkbox${indeterminate ? ' ant-checkbox-indeterminate' : ''} ant-wave-target ${hash}` +
          `${checked ? ' ant-checkbox-checked' : ''}${disabled ? ' ant-checkbox-disabled' : ''}`
        }
      >
        <input
          type="checkbox"
          className="ant-checkbox-input"
          aria-label={props['aria-label']}
          checked={!!checked}
          disabled={disabled}
          // The property, as antd sets it: read out as "mixed".
          ref={(el) => {
            if (el) el.indeterminate = !!indeterminate;
          }}
          onChange={change}
          onClick={onClick}
        />
        <span className="ant-checkbox-inner" />
      </span>
    </label>
  );
}
