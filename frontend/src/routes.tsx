// Every page of the app. Pages load on demand (React.lazy), so the first load carries only
// the shell; the pipeline editor (React Flow) and the charts are chunks of their own.
import { lazy, Suspense, type ComponentType, type ReactNode } from 'react';
import { createBrowserRouter, Navigate } from 'react-router';
import { Spin } from 'antd';
import { Layout } from './shell/Layout';
import { ErrorPage, NotFound } from './shell/ErrorPage';
import Login from './pages/Login';

function page(load: () => Promise<{ default: ComponentType }>): ReactNode {
  const C = lazy(load);
  return (
    <Suspense fallback={<Spin style={{ display: 'block', margin: '64px auto' }} />}>
      <C />
    </Suspense>
  );
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

export const router = createBrowserRouter(
  [
    { path: '/login', element: <Login />, errorElement: <ErrorPage /> },
    {
      path: '/',
      element: <Layout />,
      errorElement: <ErrorPage />,
      children: [
        { index: true, element: <Navigate to="/pipelines" replace /> },
        { path: 'r/:view', element: page(() => import('./generic/ListPage')) },
        { path: 'r/:view/new', element: page(() => import('./generic/EditPage')) },
        { path: 'r/:view/:id', element: page(() => import('./generic/ShowPage')) },
        { path: 'r/:view/:id/edit', element: page(() => import('./generic/EditPage')) },
        { path: 'members', element: page(() => import('./pages/Members')) },
        { path: 'tokens', element: page(() => import('./pages/Tokens')) },
        { path: 'webhooks', element: page(() => import('./pages/Webhooks')) },
        { path: 'notifications', element: page(() => import('./pages/Notifications')) },
        { path: 'profile', element: page(() => import('./pages/Profile')) },
        { path: 'pipelines', element: page(() => import('./editor/PipelineListPage')) },
        { path: 'pipelines/:id', element: page(() => import('./editor/PipelineEditorPage')) },
        { path: 'runs', element: page(() => import('./runs/RunListPage')) },
        { path: 'runs/:id', element: page(() => import('./runs/RunDetailPage')) },
        { path: 'run-history', element: page(() => import('./runs/RunHistoryPage')) },
        { path: '*', element: <NotFound /> },
      ],
    },
  ],
  { basename: import.meta.env.BASE_URL.replace(/\/$/, '') },
);
