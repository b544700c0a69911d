// index.html's early script picks the page the router will show from the routes of
// src/routes.tsx as tools/firstLoad.ts reads them: the same page and parameters as
// react-router's own matching, for every kind of path the app has.
import path from 'node:path';
import { matchRoutes, type RouteObject } from 'react-router';
import { describe, expect, it } from 'vitest';
import { matchRoute, type EarlyRoute } from './early';
import { readRoutes, type RouteSource } from './firstLoad';

const sources = readRoutes(path.join(__dirname, '../src/routes.tsx'));

const early = (rs: RouteSource[]): EarlyRoute[] =>
  rs.map((r) => ({ path: r.path, index: r.index, children: r.children && early(r.children), page: r.page && { files: [r.page.module] } }));
const router = (rs: RouteSource[]): RouteObject[] =>
  rs.map((r) =>
    r.index
      ? { index: true, handle: r.page?.module }
      : { path: r.path, children: r.children && router(r.children), handle: r.page?.module },
  );

describe('the early script finds the page the router shows', () => {
  it('reads every page of routes.tsx', () => {
    const pages: string[] = [];
    const walk = (rs: RouteSource[]) => rs.forEach((r) => (r.page && pages.push(r.page.module), r.children && walk(r.children)));
    walk(sources);
    expect(pages).toContain('./editor/PipelineListPage');
    expect(pages).toContain('./pages/Login');
    expect(pages.length).toBeGreaterThan(10);
  });

  const paths = [
    '/login', '/', '/pipelines', '/pipelines/12', '/pipelines/12/extra', '/runs', '/runs/3', '/run-history',
    '/r/project_modelview', '/r/project_modelview/new', '/r/project_modelview/5', '/r/project_modelview/5/edit',
    '/r/a%20b', '/members', '/tokens', '/webhooks', '/notifications', '/profile', '/nope', '/r',
  ];
  it.each(paths)('%s', (p) => {
    const ours = matchRoute(early(sources), p);
    const theirs = matchRoutes(router(sources), p)?.pop();
    expect(ours?.route.page?.files[0]).toBe(theirs?.route.handle);
    expect(ours?.route.path).toBe(theirs?.route.path);
    expect(ours?.params ?? null).toEqual(theirs?.params ?? null);
  });
});
