// Stand-ins for the antd components a list draws in every row: the same elements with the same
// class names (so antd's styles, made at build time by tools/antdCss.ts, apply unchanged) and
// the same behaviour, without the per-instance work of the real ones. An antd Button, Tag or
// Typography.Text runs its style hooks (theme token, style cache look-ups), config and
// compact-space contexts and effects on every render; a react-router Link resolves its path
// against the route tree. A list with 20 rows draws about 200 of them, and they were a quarter
// of the main thread's work on the first load of the pipeline list.
//
// Only the variants the lists use are here (link buttons of the small size, tags, secondary
// text, a wrapping space without gaps). Nothing here makes antd styles: in a build they are in
// the build-time stylesheet (tools/antdCss.ts renders Button, Tag with a preset colour,
// Typography and Space); the dev server has no such stylesheet, and there LiteProvider renders
// one hidden real component of each kind, which makes their styles at run time.
import { Children, createContext, forwardRef, isValidElement, useContext, type AnchorHTMLAttributes, type HTMLAttributes, type MouseEvent, type ReactNode } from 'react';
import { Button, Space, Tag, theme, Typography } from 'antd';
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
        </div>
      )}
      {children}
    </HashContext.Provider>
  );
}

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
