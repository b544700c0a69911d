// The small harness behind tests/e2e/e2e.mjs (and the browser part of
// tests/bench/frontend_bench.mjs): where things are, Chromium, a JSON API client, and a test
// runner whose every page is watched for console errors, uncaught exceptions and failed requests.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const rel = (p) => path.relative(process.cwd(), p) || '.';
export const BASE = (process.env.CUBE_TEST_URL || 'http://127.0.0.1:18080').replace(/\/$/, '');
export const ADMIN_PASSWORD = process.env.CUBE_TEST_ADMIN_PASSWORD || 'admin-test-pw';
export const DIST = path.join(ROOT, 'frontend/dist');

// playwright-core is a dev dependency of the web app: load it from there, so the tests need no
// package of their own. Debian's chromium does the rendering (no browser download, ever).
export function loadPlaywright() {
  const pkg = path.join(ROOT, 'frontend/package.json');
  try {
    return createRequire(pkg)('playwright-core');
  } catch (e) {
    throw new Error(`playwright-core is not installed under frontend/node_modules (run frontend/build.sh): ${e.message}`);
  }
}

export const CHROMIUM = process.env.CUBE_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export async function launch() {
  const { chromium } = loadPlaywright();
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

// The reason frontend/build.sh left when it could not build the app (Node.js too old), or null.
export function placeholderReason() {
  const f = path.join(DIST, 'PLACEHOLDER');
  return existsSync(f) ? readFileSync(f, 'utf8').trim() || 'frontend/dist/PLACEHOLDER exists' : null;
}

// --- the REST API, from Node -----------------------------------------------------------------

export class Api {
  constructor(token = null) {
    this.token = token;
  }
  async call(method, p, body) {
    const headers = { Accept: 'application/json' };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${BASE}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, json, text };
  }
  // The result of a call that must succeed; anything else throws with the server's message.
  async ok(method, p, body) {
    const r = await this.call(method, p, body);
    if (r.status !== 200 || !r.json || r.json.status !== 0) {
      throw new Error(`${method} ${p} -> ${r.status} ${r.json?.message ?? r.text.slice(0, 200)}`);
    }
    return r.json.result;
  }
  get(p) {
    return this.ok('GET', p);
  }
  post(p, body = {}) {
    return this.ok('POST', p, body);
  }
  put(p, body) {
    return this.ok('PUT', p, body);
  }
  list(view, fd = {}) {
    return this.get(`/api/${view}/?form_data=${encodeURIComponent(JSON.stringify(fd))}`);
  }
  static async login(username, password) {
    const r = await new Api().call('POST', '/api/login', { username, password });
    if (r.status !== 200 || r.json?.status !== 0) {
      throw new Error(`login ${username} -> ${r.status} ${r.json?.message ?? r.text.slice(0, 200)}`);
    }
    return new Api(r.json.result.token);
  }
}

// --- the runner ------------------------------------------------------------------------------

class NeedError extends Error {}

async function formatConsole(m) {
  const args = await Promise.all(m.args().map((a) => a.jsonValue().catch(() => String(a))));
  if (typeof args[0] !== 'string' || !args[0].includes('%')) return m.text();
  let i = 1;
  const head = args[0].replace(/%[sdifoOc]/g, () => (i < args.length ? String(args[i++]) : ''));
  return [head, ...args.slice(i).map(String)].join(' ');
}

// An error as a few lines: the message (Playwright's call log included, colours removed) and
// where in the tests it was thrown, relative to the checkout.
function describe(e) {
  if (e instanceof NeedError) return [e.message];
  const lines = String(e?.message ?? e).replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter((l) => l.trim());
  const at = String(e?.stack ?? '').split('\n').find((l) => /tests\/(e2e|bench)\//.test(l) && !/lib\.mjs/.test(l));
  if (at) lines.push(at.trim().replace(/\(?(file:\/\/)?[^ ]*?(tests\/[^ )]+)\)?/, '($2)'));
  return lines.slice(0, 12);
}

export function createRunner({ outDir }) {
  mkdirSync(outDir, { recursive: true });
  // A failure screenshot of an earlier run would pass for one of this run.
  for (const f of readdirSync(outDir)) if (/^FAIL-.*\.png$/.test(f)) rmSync(path.join(outDir, f));
  const tests = [];
  let current = null; // the running test: { name, problems: [], allowed: [] }
  let activePage = null; // what a failure screenshot shows
  const closing = new WeakSet(); // contexts being closed: their aborted requests are expected

  function test(name, fn, { timeout = 60_000 } = {}) {
    tests.push({ name, fn, timeout });
  }

  // allow(status, urlPattern, why): an HTTP error answer the current test expects (e.g. the 401
  // of a wrong password). Only an exact status on a matching URL is let through, and only for
  // the test that said so.
  function allow(status, pattern, why) {
    if (!why) throw new Error('allow() needs a reason');
    current?.allowed.push({ status, pattern, why });
  }
  const allowed = (status, url) => current?.allowed.some((a) => a.status === status && a.pattern.test(url));
  const pending = []; // console messages still being formatted
  function problem(text, owner = current) {
    if (owner) owner.problems.push(text);
    else console.log(`# outside any test: ${text}`);
  }

  function watch(page) {
    page.on('pageerror', (e) => problem(`uncaught exception in the page: ${e.message}`));
    page.on('console', (m) => {
      const type = m.type();
      if (type !== 'error' && type !== 'warning' && type !== 'assert') return;
      const text = m.text();
      const loc = m.location()?.url ?? '';
      // Chromium repeats every HTTP error answer as a console error "Failed to load resource:
      // the server responded with a status of N". The answer itself is judged by the response
      // watcher below (failing unless the test allowed it), so only its echo is let through here.
      const echo = /^Failed to load resource: the server responded with a status of (\d+)/.exec(text);
      if (echo && allowed(Number(echo[1]), loc)) return;
      // React and antd log printf-style ("%s cannot appear as a child of <%s>", ...): fill in
      // the arguments so the message says which elements.
      const owner = current;
      const done = formatConsole(m).then(
        (t) => problem(`console ${type}: ${t}${loc ? ` (${loc})` : ''}`, owner),
        () => problem(`console ${type}: ${text}${loc ? ` (${loc})` : ''}`, owner),
      );
      pending.push(done);
    });
    page.on('response', (r) => {
      const s = r.status();
      if (s < 400 || allowed(s, r.url())) return;
      problem(`HTTP ${s} for ${r.request().method()} ${r.url()}`);
    });
    page.on('requestfailed', (r) => {
      const err = r.failure()?.errorText ?? 'failed';
      // A request the page itself abandons is not a failure: navigating away cancels pending
      // loads, react-query aborts the fetches of a page that unmounts, the log follower closes
      // its stream when the drawer closes, and closing a context aborts whatever is in flight.
      if (err === 'net::ERR_ABORTED') return;
      if (closing.has(page.context())) return;
      problem(`request failed (${err}): ${r.method()} ${r.url()}`);
    });
  }

  async function newContext(browser, opts = {}) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', timezoneId: 'UTC', ...opts });
    // Generous: the suite shares a 2-core machine with builds and other stacks.
    ctx.setDefaultTimeout(20_000);
    ctx.setDefaultNavigationTimeout(30_000);
    ctx.on('page', watch);
    return ctx;
  }
  async function closeContext(ctx) {
    closing.add(ctx);
    await ctx.close().catch(() => {});
  }

  async function shot(page, name, opts = {}) {
    const file = path.join(outDir, `${name}.png`);
    await page.screenshot({ path: file, animations: 'disabled', ...opts });
    return file;
  }

  // A value an earlier test had to produce; without it this test fails and says which.
  function need(value, what) {
    if (value === undefined || value === null || value === '') throw new NeedError(`needs ${what} from an earlier test, which failed`);
    return value;
  }

  async function run() {
    let passed = 0;
    let failed = 0;
    for (const t of tests) {
      current = { name: t.name, problems: [], allowed: [] };
      const t0 = Date.now();
      let error = null;
      let timer;
      try {
        await Promise.race([
          t.fn(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${t.timeout / 1000} s`)), t.timeout);
          }),
        ]);
      } catch (e) {
        error = e;
      } finally {
        clearTimeout(timer);
      }
      // Late console messages of this test's last action still belong to it.
      await new Promise((r) => setTimeout(r, 100));
      await Promise.allSettled(pending.splice(0));
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      if (!error && current.problems.length === 0) {
        passed++;
        console.log(`ok   ${t.name} (${secs} s)`);
      } else {
        failed++;
        console.log(`FAIL ${t.name} (${secs} s)`);
        if (error) for (const l of describe(error)) console.log(`     ${l}`);
        // Only the first lines of each (React's component stacks run to dozens of lines).
        for (const p of current.problems.slice(0, 10)) {
          const lines = p.split('\n');
          console.log(`     ${lines.slice(0, 3).join('\n       ')}${lines.length > 3 ? ` [... ${lines.length - 3} more lines]` : ''}`);
        }
        if (current.problems.length > 10) console.log(`     ... and ${current.problems.length - 10} more`);
        if (activePage && !activePage.isClosed() && !(error instanceof NeedError)) {
          const safe = t.name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase();
          try {
            const f = await shot(activePage, `FAIL-${safe}`);
            console.log(`     screenshot: ${rel(f)}`);
          } catch (e) {
            console.log(`     (no screenshot: ${e.message.split('\n')[0]})`);
          }
        }
      }
      current = null;
    }
    return { passed, failed };
  }

  return {
    test,
    allow,
    // A failure that lets the test go on (it still fails at its end).
    problem,
    need,
    shot,
    newContext,
    closeContext,
    run,
    setPage: (p) => {
      activePage = p;
      return p;
    },
  };
}
