// Shown when a page throws while rendering or loading. It is in the first load and draws with
// what the first load already has: it is also what a chunk that failed to load ends in.
import { lazy, Suspense } from 'react';
import { Alert } from 'antd';
import { isRouteErrorResponse, useRouteError } from 'react-router';
import { useT } from '../i18n';

const NotFound = lazy(() => import('./NotFound'));

export function ErrorPage() {
  const t = useT();
  const err = useRouteError();
  if (isRouteErrorResponse(err) && err.status === 404)
    return (
      <Suspense>
        <NotFound />
      </Suspense>
    );
  const msg = err instanceof Error ? err.message : String(err);
  return <Alert type="error" showIcon message={t('shell.error')} description={msg} role="alert" style={{ margin: 24 }} />;
}
