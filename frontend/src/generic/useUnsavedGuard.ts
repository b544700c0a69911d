// Asks before leaving a page with unsaved changes: a confirm for a navigation inside the app
// (react-router's blocker), the browser's own prompt for a reload or a closed tab.
import { useCallback, useEffect, useRef, useState } from 'react';
import { App } from 'antd';
import { useBlocker, type BlockerFunction } from 'react-router';
import { useT } from '../i18n';

// Returns setDirty. Clear it before navigating away after a save: the check reads a ref, so
// a navigate() right after setDirty(false) is not blocked.
export function useUnsavedGuard(): { dirty: boolean; setDirty: (d: boolean) => void } {
  const t = useT();
  const { modal } = App.useApp();
  const ref = useRef(false);
  const [dirty, setDirtyState] = useState(false);
  const setDirty = useCallback((d: boolean) => {
    ref.current = d;
    setDirtyState(d);
  }, []);
  const shouldBlock = useCallback<BlockerFunction>(
    ({ currentLocation, nextLocation }) =>
      ref.current && (currentLocation.pathname !== nextLocation.pathname || currentLocation.search !== nextLocation.search),
    [],
  );
  const blocker = useBlocker(shouldBlock);
  const blockerRef = useRef(blocker);
  blockerRef.current = blocker;

  // Keyed on the state alone: one dialog per blocked navigation, however often we render.
  useEffect(() => {
    if (blocker.state !== 'blocked') return;
    modal.confirm({
      title: t('generic.unsaved.title'),
      content: t('generic.unsaved.body'),
      okText: t('generic.unsaved.leave'),
      okButtonProps: { danger: true },
      cancelText: t('generic.unsaved.stay'),
      onOk: () => {
        ref.current = false;
        blockerRef.current.proceed?.();
      },
      onCancel: () => blockerRef.current.reset?.(),
    });
  }, [blocker.state, modal, t]);

  useEffect(() => {
    if (!dirty) return;
    const h = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      // Older browsers show the prompt only when returnValue is set.
      e.returnValue = '';
    };
    window.addEventListener('beforeunload', h);
    return () => window.removeEventListener('beforeunload', h);
  }, [dirty]);

  return { dirty, setDirty };
}
