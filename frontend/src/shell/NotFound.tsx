// The 404 page. A chunk of its own: antd's Result carries its illustrations, which no other
// page of the first load needs.
import { Button, Result } from 'antd';
import { Link } from 'react-router';
import { useT } from '../i18n';

export default function NotFound() {
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
