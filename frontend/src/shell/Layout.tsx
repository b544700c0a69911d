// The frame around every signed-in page: the menu (from /myapp/menu, so the server decides
// what a user sees), the header with notifications, language, the user and log out.
import { useEffect, useMemo } from 'react';
import { Badge, Button, Dropdown, Layout as AntLayout, Menu, Spin, Space } from 'antd';
import { BellOutlined, LogoutOutlined, TranslationOutlined, UserOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, Navigate, Outlet, useLocation, useNavigate } from 'react-router';
import { request, setUnauthorizedHandler } from '../api';
import { LiteLink, useAntdHash } from '../generic/lite';
import { useI18n } from '../i18n';
import { localizeLabel } from '../i18n/labels';
import { routeForView } from '../routes';
import { likelySignedIn, meKey, menuQuery, unreadQuery, useMe } from './session';

export function Layout() {
  const { t, lang, setLang } = useI18n();
  const me = useMe();
  const nav = useNavigate();
  const loc = useLocation();
  const qc = useQueryClient();
  const hash = useAntdHash();

  useEffect(() => {
    setUnauthorizedHandler(() => {
      qc.setQueryData(meKey, null);
      nav(`/login?next=${encodeURIComponent(window.location.pathname.replace(/^\/frontend/, '') + window.location.search)}`);
    });
    return () => setUnauthorizedHandler(null);
  }, [nav, qc]);

  const menu = useQuery({ ...menuQuery, enabled: !!me.data });
  const unread = useQuery({ ...unreadQuery, enabled: !!me.data, refetchInterval: 15_000 });

  const items = useMemo(
    () =>
      (menu.data ?? []).map((g) => ({
        key: g.name,
        label: t(`menu.${g.name}`) === `menu.${g.name}` ? g.title : t(`menu.${g.name}`),
        children: (g.children ?? []).map((c) => ({
          key: routeForView(c.name),
          // A react-router Link resolves its path against the route tree on every render; the
          // menu draws one per entry on the first load, the stand-in does what it does with a click.
          label: <LiteLink to={routeForView(c.name)}>{localizeLabel(c.title, lang)}</LiteLink>,
        })),
      })),
    [menu.data, t, lang],
  );

  // Someone who signed in before (the server's readable companion cookie of the session) gets
  // the page at once, its chunk and data loading beside the session probe rather than after
  // it; a 401 on the way still sends them to the login page.  Anyone else waits for the probe.
  if (me.isLoading && !likelySignedIn()) return <Spin style={{ display: 'block', margin: '30vh auto' }} />;
  if (!me.isLoading && !me.data) return <Navigate to={`/login?next=${encodeURIComponent(loc.pathname + loc.search)}`} replace />;

  // The menu entry whose route is the longest prefix of the current path is the selected one.
  const selected = items
    .flatMap((g) => g.children.map((c) => c.key))
    .filter((k) => loc.pathname === k || loc.pathname.startsWith(`${k}/`))
    .sort((a, b) => b.length - a.length)
    .slice(0, 1);

  async function logout() {
    await request('/api/logout', { method: 'POST', quiet401: true }).catch(() => undefined);
    qc.clear();
    nav('/login', { replace: true });
  }

  return (
    <AntLayout style={{ minHeight: '100vh' }}>
      {/* The menu keeps to the window and scrolls on its own: with a few areas open it is taller
          than 800 px, and the page scrolling with it hid the header and the page's title. */}
      <AntLayout.Sider
        width={220}
        theme="light"
        breakpoint="lg"
        collapsedWidth={64}
        style={{ borderRight: '1px solid #f0f0f0', position: 'sticky', top: 0, height: '100vh', overflowY: 'auto' }}
      >
        <Link to="/" style={{ display: 'flex', alignItems: 'center', gap: 8, padding: '16px 20px' }}>
          <img src={`${import.meta.env.BASE_URL}favicon.svg`} alt="" width={24} />
          {/* antd's <Typography.Text strong>, drawn from its class names (styled by the build-time
              stylesheet): the real one would bring Typography, and the form code its editable
              text imports, into the main chunk for one word. */}
          <span className={`ant-typography ${hash}`} style={{ fontSize: 18 }}>
            <strong>Cube</strong>
          </span>
        </Link>
        <Menu
          mode="inline"
          items={items}
          selectedKeys={selected}
          defaultOpenKeys={['project', 'train', 'me']}
          style={{ borderInlineEnd: 0 }}
          // antd wraps every item in a Tooltip (a trigger mounted per item) to show its title when
          // the menu is folded; the items here are all inside groups, whose tooltips have no title
          // (antd shows one only for a top-level item), so none would ever open.
          _internalDisableMenuItemTitleTooltip
        />
      </AntLayout.Sider>
      <AntLayout>
        <AntLayout.Header
          style={{ background: '#fff', padding: '0 24px', display: 'flex', justifyContent: 'flex-end', borderBottom: '1px solid #f0f0f0' }}
        >
          <Space size="middle">
            <Link to="/notifications" aria-label={t('shell.notifications')}>
              <Badge count={unread.data?.unread ?? 0} size="small" data-testid="unread-badge">
                <BellOutlined style={{ fontSize: 18 }} />
              </Badge>
            </Link>
            <Button type="text" icon={<TranslationOutlined />} onClick={() => setLang(lang === 'en' ? 'zh' : 'en')}>
              {t('shell.language')}
            </Button>
            <Dropdown
              menu={{
                items: [
                  { key: 'profile', icon: <UserOutlined />, label: <Link to="/profile">{t('shell.profile')}</Link> },
                  { key: 'logout', icon: <LogoutOutlined />, label: t('shell.logout'), onClick: logout },
                ],
              }}
            >
              <Button type="text" icon={<UserOutlined />} data-testid="current-user">
                {me.data?.username ?? ''}
              </Button>
            </Dropdown>
          </Space>
        </AntLayout.Header>
        <AntLayout.Content style={{ margin: 24 }}>
          <Outlet />
        </AntLayout.Content>
      </AntLayout>
    </AntLayout>
  );
}
