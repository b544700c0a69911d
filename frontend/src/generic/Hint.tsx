// A tooltip that costs nothing until it is needed. An antd Tooltip mounts a trigger (motion,
// resize observer, portal bookkeeping and its styles) whether or not anyone ever hovers it; a
// list page with a few icon buttons per row mounted over a hundred of them, about an eighth of
// the first load's main-thread work with 20 rows. Hint renders its child alone and swaps in the real Tooltip at the
// first pointer enter, open at once, so the first hover looks as before. (Like antd's own
// hover tooltips, it does not open on keyboard focus; the child carries an aria-label.)
//
// The swap remounts the child's element, so it is committed inside the pointer-enter event
// (flushSync): a press that follows at once then lands on the element that stays, and its
// click is not lost between two elements. An element that has the keyboard focus is left as it
// is (its focus would go with it).
import { cloneElement, useState, type MouseEvent, type ReactElement, type ReactNode } from 'react';
import { flushSync } from 'react-dom';
import { Tooltip } from 'antd';

type ChildProps = { onMouseEnter?: (e: MouseEvent<HTMLElement>) => void };

export function Hint({ title, children }: { title: ReactNode; children: ReactElement<ChildProps> }) {
  const [armed, setArmed] = useState(false);
  if (armed)
    return (
      <Tooltip title={title} defaultOpen>
        {children}
      </Tooltip>
    );
  const own = children.props;
  return cloneElement(children, {
    onMouseEnter: (e: MouseEvent<HTMLElement>) => {
      own.onMouseEnter?.(e);
      if (e.currentTarget !== document.activeElement) flushSync(() => setArmed(true));
    },
  });
}

// The same economy for dialogs: true from the first time `open` is true, so a closed modal
// is not mounted (nor styled) until first used, and keeps its closing animation afterwards.
export function useOpenedOnce(open: boolean): boolean {
  const [opened, setOpened] = useState(open);
  if (open && !opened) setOpened(true);
  return opened || open;
}
