import { Button, Result } from 'antd';
import { Link, isRouteErrorResponse, useRouteError } from 'react-router';
import { useT } from '../i18n';

export function NotFound() {
  const t = useT();
  return (
    <Result
      status="404"
      title="404"
      subTitle={t('shell.notFound')}
      extra={
        <Link to="/">
          <Button type="primary">{t('shell.home')}</Button>
        </Link>
      }
    />
  );
}

// Shown when a page throws while rendering or loading.
export function ErrorPage() {
  const t = useT();
  const err = useRouteError();
  if (isRouteErrorResponse(err) && err.status === 404) return <NotFound />;
  const msg = err instanceof Error ? err.message : String(err);
  return <Result status="error" title={t('shell.error')} subTitle={msg} />;
}
