// The first screen's requests, started by a script in index.html's head before the app's code
// has arrived (tools/firstLoad.ts builds that script from this file and the routes).
//
// Without it the browser asks for the app's scripts, runs them, and only then does warmStart
// (src/routes.tsx) ask for the page's own chunks and the page's data: both wait for the main
// chunk to arrive, compile and run. Here the page's chunks are preloaded beside the main chunk
// and the API is asked at once, with exactly the requests warmStart would make. The app's own
// fetch of one of those addresses then gets the answer already on its way (one request each),
// so nothing in the app changes: it asks as before and the answer is simply sooner.
import { infoUrl, listUrl } from '../src/api';
import { firstPageQuery } from '../src/generic/related';
import { likelySignedIn, ME_URL, MENU_URL, UNREAD_URL } from '../src/shell/session';

type Params = Record<string, string | undefined>;

// A route of src/routes.tsx as tools/firstLoad.ts writes it: the path and, for a page, the files
// of its chunk and the view of its list.
export interface EarlyRoute {
  path?: string;
  index?: boolean;
  children?: EarlyRoute[];
  page?: { files: string[]; listView?: (params: Params) => string | undefined };
}

// The route react-router shows at a path, and its parameters: of the routes that match the
// whole path, the one ranked highest, scored the way react-router scores them (a static segment
// over a parameter, a parameter over a splat, an index route over its parent; declaration order
// on a tie). react-router's own matchRoutes would bring its whole module, and React, into the
// head of every page; tools/early.test.ts checks the two agree on the app's routes.
export function matchRoute(routes: EarlyRoute[], pathname: string): { route: EarlyRoute; params: Params } | null {
  const branches: { segments: string[]; route: EarlyRoute; score: number }[] = [];
  const flatten = (rs: EarlyRoute[], parent: string) => {
    for (const r of rs) {
      const full = r.path === undefined ? parent : `${parent}/${r.path}`.replace(/\/\/+/g, '/');
      if (r.children) flatten(r.children, full);
      if (r.path === undefined && !r.index) continue;
      const all = full.split('/');
      const score = all.reduce(
        (n, s) => n + (s === '*' ? 0 : s.startsWith(':') ? 3 : s === '' ? 1 : 10),
        all.length + (all.includes('*') ? -2 : 0) + (r.index ? 2 : 0),
      );
      branches.push({ segments: all.filter(Boolean), route: r, score });
    }
  };
  flatten(routes, '');
  // Array.prototype.sort is stable: equal scores keep the order react-router keeps.
  branches.sort((a, b) => b.score - a.score);
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  for (const { segments, route } of branches) {
    const params: Params = {};
    const splat = segments[segments.length - 1] === '*';
    if (splat ? parts.length < segments.length - 1 : parts.length !== segments.length) continue;
    const ok = segments.every((s, i) => {
      if (s === '*') return (params['*'] = parts.slice(i).join('/')), true;
      if (s.startsWith(':')) return (params[s.slice(1)] = parts[i]), true;
      return s === parts[i];
    });
    if (ok) return { route, params };
  }
  return null;
}

// What App.tsx and warmStart ask on a first load: the session probe except on the sign-in page,
// and for a browser that signed in before, the menu, the unread count, the page's chunks and,
// for a list page, its _info and its first page.
export function firstRequests(routes: EarlyRoute[], basename: string, where: Location): { urls: string[]; files: string[] } {
  if (where.pathname.endsWith('/login')) return { urls: [], files: [] };
  const urls = [ME_URL];
  const files: string[] = [];
  if (!likelySignedIn() || !where.pathname.startsWith(basename)) return { urls, files };
  urls.push(MENU_URL, UNREAD_URL);
  const m = matchRoute(routes, where.pathname.slice(basename.length));
  const page = m?.route.page;
  if (!m || !page) return { urls, files };
  files.push(...page.files);
  const view = page.listView?.(m.params);
  if (view) {
    urls.push(infoUrl(view));
    const fd = firstPageQuery(view, where.search);
    if (fd) urls.push(listUrl(view, fd));
  }
  return { urls, files };
}

// An early answer still not taken by then is dropped (the app asked another address).
const KEEP_MS = 10_000;

export function start(routes: EarlyRoute[], basename: string): void {
  let asked: { urls: string[]; files: string[] };
  try {
    asked = firstRequests(routes, basename, location);
  } catch {
    return; // an address that does not decode: the app asks for itself
  }
  // After the parser has gone through the rest of the head, so that the app's own scripts are
  // asked for first; the API and the page's chunks take the connections after them.
  setTimeout(() => {
    const own = window.fetch;
    const early = new Map<string, Promise<Response>>();
    for (const u of asked.urls) early.set(u, own.call(window, u, { headers: { Accept: 'application/json' }, credentials: 'same-origin' }));
    const restore = () => {
      if (window.fetch === adopt) window.fetch = own;
    };
    // The first plain GET of each address gets the early answer; anything else goes to fetch.
    const adopt: typeof fetch = (input, init) => {
      const plain = (init?.method ?? 'GET').toUpperCase() === 'GET' && init?.body == null;
      const answer = plain && typeof input === 'string' ? early.get(input) : undefined;
      if (!answer) return own.call(window, input, init);
      early.delete(input as string);
      if (!early.size) restore();
      return answer;
    };
    if (early.size) {
      window.fetch = adopt;
      setTimeout(restore, KEEP_MS);
    }
    // The links Vite's preload helper makes for a dynamic import: it finds these and adds none,
    // and the import finds the modules fetched and compiled.
    for (const href of asked.files) {
      const link = document.createElement('link');
      link.rel = 'modulepreload';
      link.as = 'script';
      link.crossOrigin = '';
      link.href = href;
      document.head.appendChild(link);
    }
  });
}
