// Every page of the app. Pages load on demand (React.lazy), so the first load carries only
// the shell; the pipeline editor (React Flow) and the charts are chunks of their own.
//
// warmStart() asks for what the first screen needs as soon as the app's code runs: the page's
// chunk and, for a list page, its _info and first page, beside the session probe. Without it
// they are asked one after the other (session, layout, chunk, page, data), each waiting for the
// one before and for a render. On a first load index.html has asked for the same already, before
// this code arrived (tools/early.ts, built from the routes below by tools/firstLoad.ts): the
// requests warmStart makes then get those answers, and the imports find the chunks preloaded.
import { useEffect, useState, type ComponentType } from 'react';
import { createBrowserRouter, matchRoutes, Navigate, type RouteObject } from 'react-router';
import type { QueryClient } from '@tanstack/react-query';
import { Spin } from 'antd';
import { Layout } from './shell/Layout';
import { ErrorPage } from './shell/ErrorPage';
import { likelySignedIn, menuQuery, unreadQuery } from './shell/session';
import { firstPageQuery, infoQuery, listQuery } from './generic/related';

// What a route can ask for before it renders: its chunk, and the view whose list it shows
// (a function of the route's parameters) when that list is the generic one with its defaults.
interface RouteHandle {
  preload: () => Promise<unknown>;
  listView?: (params: Record<string, string | undefined>) => string | undefined;
}

// A page whose chunk loads on demand. Not React.lazy: a Suspense boundary that has shown its
// fallback reveals the page at React's throttled pace (up to half a second later); this shows
// the spinner and renders the page the moment its chunk arrives, and at once when it already
// has (warmStart asked for it while the app's code started).
type PageModule = { default: ComponentType };

function LazyPage({ load, loaded }: { load: () => Promise<PageModule>; loaded: () => PageModule | undefined }) {
  const [mod, setMod] = useState(loaded);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (mod) return;
    let live = true;
    load().then(
      (m) => live && setMod(m),
      (e: unknown) => live && setError(e ?? new Error('the page did not load')),
    );
    return () => {
      live = false;
    };
  }, [mod, load]);
  if (error) throw error; // to the route's errorElement
  if (!mod) return <Spin style={{ display: 'block', margin: '64px auto' }} />;
  const C = mod.default;
  return <C />;
}

let pages = 0;

function page(load: () => Promise<PageModule>, listView?: RouteHandle['listView']): RouteObject {
  // Each route's page is its own element: going from one route to another mounts the other
  // page (its state included) rather than reusing the one LazyPage in the outlet.
  const key = `page-${++pages}`;
  let loading: Promise<PageModule> | undefined;
  let loaded: PageModule | undefined;
  const once = () =>
    (loading ??= load().then(
      (m) => (loaded = m),
      (e: unknown) => {
        loading = undefined; // a later visit tries again
        throw e;
      },
    ));
  const handle: RouteHandle = { preload: once, listView };
  return { handle, element: <LazyPage key={key} load={once} loaded={() => loaded} /> };
}

// Where the menu sends each API view. Views with a page of their own are listed here; every
// other view gets the generic pages at /r/<view>.
export const viewRoutes: Record<string, string> = {
  pipeline_modelview: '/pipelines',
  workflow_modelview: '/runs',
  runhistory_modelview: '/run-history',
  project_user_modelview: '/members',
  token_modelview: '/tokens',
  webhook_modelview: '/webhooks',
  notification_modelview: '/notifications',
  userinfo: '/profile',
};
export function routeForView(view: string): string {
  return viewRoutes[view] ?? `/r/${view}`;
}

const routes: RouteObject[] = [
  { path: '/login', ...page(() => import('./pages/Login')), errorElement: <ErrorPage /> },
  {
    path: '/',
    element: <Layout />,
    errorElement: <ErrorPage />,
    children: [
      { index: true, element: <Navigate to="/pipelines" replace /> },
      { path: 'r/:view', ...page(() => import('./generic/ListPage'), (p) => p.view) },
      { path: 'r/:view/new', ...page(() => import('./generic/EditPage')) },
      { path: 'r/:view/:id', ...page(() => import('./generic/ShowPage')) },
      { path: 'r/:view/:id/edit', ...page(() => import('./generic/EditPage')) },
      { path: 'members', ...page(() => import('./pages/Members')) },
      { path: 'tokens', ...page(() => import('./pages/Tokens')) },
      { path: 'webhooks', ...page(() => import('./pages/Webhooks')) },
      { path: 'notifications', ...page(() => import('./pages/Notifications')) },
      { path: 'profile', ...page(() => import('./pages/Profile')) },
      { path: 'pipelines', ...page(() => import('./editor/PipelineListPage'), () => 'pipeline_modelview') },
      { path: 'pipelines/:id', ...page(() => import('./editor/PipelineEditorPage')) },
      { path: 'runs', ...page(() => import('./runs/RunListPage')) },
      { path: 'runs/:id', ...page(() => import('./runs/RunDetailPage')) },
      { path: 'run-history', ...page(() => import('./runs/RunHistoryPage')) },
      { path: '*', ...page(() => import('./shell/NotFound')) },
    ],
  },
];
const basename = import.meta.env.BASE_URL.replace(/\/$/, '');

export const router = createBrowserRouter(routes, { basename });

// Returns what it asked for, each settled (never rejected) when it is in: the app's first
// render waits for them (App.tsx, firstScreen).
export function warmStart(qc: QueryClient, where: Location = window.location): Promise<unknown>[] {
  if (!likelySignedIn()) return [];
  const asked: Promise<unknown>[] = [qc.prefetchQuery(menuQuery), qc.prefetchQuery(unreadQuery)];
  for (const m of matchRoutes(routes, where.pathname, basename) ?? []) {
    const h = m.route.handle as RouteHandle | undefined;
    if (!h) continue;
    const view = h.listView?.(m.params);
    if (view) {
      asked.push(qc.prefetchQuery(infoQuery(view)));
      const fd = firstPageQuery(view, where.search);
      if (fd) asked.push(qc.prefetchQuery(listQuery(view, fd)));
    }
    asked.push(h.preload().catch(() => undefined)); // the page shows the failure when it renders
  }
  return asked;
}
