// A button that is a link: one <a> (no button nested in a link), so it opens in a new tab on a
// middle click and reads as a link, while a plain click navigates inside the app.
import { forwardRef, type MouseEvent } from 'react';
import { Button, type ButtonProps } from 'antd';
import { useHref, useNavigate } from 'react-router';

export type LinkButtonProps = Omit<ButtonProps, 'href'> & { to: string; 'data-testid'?: string };

// Forwards its ref: a Tooltip around it measures the element through it.
export const LinkButton = forwardRef<HTMLAnchorElement | HTMLButtonElement, LinkButtonProps>(function LinkButton(
  { to, onClick, ...rest },
  ref,
) {
  const href = useHref(to);
  const nav = useNavigate();
  return (
    <Button
      {...rest}
      ref={ref}
      href={href}
      onClick={(e: MouseEvent<HTMLElement>) => {
        onClick?.(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        nav(to);
      }}
    />
  );
});
