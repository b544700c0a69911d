#!/usr/bin/env node
// End-to-end tests of Cube's web app (issue 5): headless Chromium (Debian's) driven by
// playwright-core, against a running stack.
//
//   node tests/e2e/e2e.mjs      CUBE_TEST_URL (http://127.0.0.1:18080), CUBE_TEST_ADMIN_PASSWORD
//
// One story in order: sign in through the form, create a project and add a member, draw a
// pipeline by drag and drop, fill its arguments, save, reload, refuse a cycle, set a cron
// schedule, run it, watch every task succeed, read a log, backfill the schedule, check that
// another user sees none of it, and look at it all at 1920x1080. Every page is watched: a
// console error or warning, an uncaught exception or a failed request fails the test that
// caused it. Screenshots go to tests/out/e2e/ (see README.md). The last line is
// `e2e: N passed, N failed`.
import path from 'node:path';
import { existsSync } from 'node:fs';
import { ADMIN_PASSWORD, Api, BASE, DIST, ROOT, createRunner, launch, placeholderReason, rel } from './lib.mjs';

const OUT = path.join(ROOT, 'tests/out/e2e');
const APP = `${BASE}/frontend`;

const reason = placeholderReason();
if (reason) {
  // frontend/build.sh could not build the app on this machine and nginx serves the placeholder
  // page: there is no app to test. Counted as one pass so the suite line is not 0/0.
  console.log(`# skip: the web app was not built (${reason}); frontend/dist holds the placeholder page`);
  console.log('e2e: 1 passed, 0 failed');
  process.exit(0);
}

const R = Date.now().toString(36).slice(-6); // unique names per run
const S = {
  project: `e2e-${R}`,
  pipeline: `e2e-${R}-pipe`,
  member: `e2e${R}m`,
  outsider: `e2e${R}o`,
  marker: `cube-e2e-marker-${R}`,
  cron: '30 4 * * 1',
};
const pw = (u) => `${u}-Pw1!`;

const T = createRunner({ outDir: OUT });
const { test, allow, need } = T;

// A screenshot of a main page, which must also fit the window's width (no sideways scrolling);
// a page that does not is a failure of the test, which goes on.
async function shot(p, name) {
  const w = await p.evaluate(() => ({ doc: document.documentElement.scrollWidth, win: window.innerWidth }));
  const file = await T.shot(p, name);
  if (w.doc > w.win) T.problem(`${name}: the page is ${w.doc} px wide in a ${w.win} px window: it scrolls sideways (see ${rel(file)})`);
  return file;
}
let browser;
let admin; // Api as admin
let page; // the admin's page, signed in through the form

// --- helpers -----------------------------------------------------------------------------------

// Signs in through the login form; Enter in the password field submits it.
async function signIn(p, username, password) {
  await p.getByLabel('Username').fill(username);
  await p.getByLabel('Password').fill(password);
  await p.getByLabel('Password').press('Enter');
}

// A signed-out visit: the shell asks who is signed in (401) and shows the login page.
function allowSignedOut() {
  allow(401, /\/api\/userinfo\/$/, 'the session probe of a signed-out visitor answers 401');
}

async function freshUserPage(username) {
  const c = await T.newContext(browser);
  const p = T.setPage(await c.newPage());
  allowSignedOut();
  await p.goto(`${APP}/login`);
  await signIn(p, username, pw(username));
  await p.getByTestId('current-user').filter({ hasText: username }).waitFor();
  return { c, p };
}

// The palette's templates are HTML5-draggable: Playwright's dragTo runs a native drag and drop
// (dragstart on the item, dragover and drop on the canvas at the given point).
async function dropTemplate(p, template, x, y) {
  const item = p.getByTestId(`palette-${template}`);
  await item.scrollIntoViewIfNeeded();
  await item.dragTo(p.locator('.react-flow__pane'), { targetPosition: { x, y } });
}

// Picks an option of an antd Select by typing into its search box.
async function pickOption(p, box, text) {
  await box.click();
  await box.fill(text);
  await p.locator('.ant-select-dropdown:visible .ant-select-item-option').filter({ hasText: text }).first().click();
}

// A template argument's input in the task panel: its label is the argument's label followed by
// its key (e.g. "Command" + "command"); the panel's own "Command" override is another field.
function argInput(panel, label) {
  return panel.getByLabel(new RegExp(`^${label}\\s*${label.toLowerCase()}$`));
}

// Goes to a page through the side menu, as a user does (and without loading the app again).
async function menu(p, title, urlPart) {
  await p.locator('.ant-layout-sider').getByRole('link', { name: title, exact: true }).click();
  await p.waitForURL((u) => u.pathname.endsWith(urlPart));
}

// A generic list that has finished loading (its rows, or its empty state, are shown).
async function listReady(p) {
  await p.locator('.ant-table-tbody').first().waitFor();
  await eventually('the list loaded', async () => (await p.locator('.ant-table .ant-spin-spinning').count()) === 0);
}

const nodeIds = (p) => p.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
const nodes = (p) => p.locator('.react-flow__node');
const edges = (p) => p.locator('.react-flow__edge');
const node = (p, id) => p.locator(`.react-flow__node[data-id="${id}"]`);

async function connect(p, from, to) {
  await node(p, from).locator('.react-flow__handle.source').dragTo(node(p, to).locator('.react-flow__handle.target'));
}

async function eventually(what, fn, { timeout = 20_000, every = 250 } = {}) {
  const until = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`${what}: not within ${timeout / 1000} s${last ? ` (${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

// --- the tests ---------------------------------------------------------------------------------

test('setup: the stack answers; a member and an outsider are created through the admin API', async () => {
  if (!existsSync(path.join(DIST, 'index.html'))) throw new Error('frontend/dist/index.html is missing: build the app (frontend/build.sh)');
  const h = await new Api().call('GET', '/api/health');
  if (h.status !== 200) throw new Error(`GET /api/health -> ${h.status}: is the stack up at ${BASE}?`);
  const html = await (await fetch(`${APP}/`)).text();
  if (!/<div id="root">/.test(html)) throw new Error(`${APP}/ does not serve the app's index.html`);
  admin = await Api.login('admin', ADMIN_PASSWORD);
  const roles = await admin.list('roles', { page_size: 100 });
  const user = roles.data.find((r) => r.name === 'user');
  if (!user) throw new Error('no role "user"');
  for (const u of [S.member, S.outsider]) {
    await admin.post('/api/users/', { username: u, password: pw(u), email: `${u}@example.com`, nickname: u, roles: [user.id] });
  }
  browser = await launch();
  page = T.setPage(await (await T.newContext(browser)).newPage());
});

test('login: a wrong password shows the server\'s message', async () => {
  // What the server says to a wrong password, asked the same way the form asks.
  const r = await new Api().call('POST', '/api/login', { username: S.outsider, password: 'not-the-password' });
  if (r.status !== 401 || !r.json?.message) throw new Error(`expected a 401 with a message, got ${r.status}`);
  allowSignedOut();
  allow(401, /\/api\/login$/, 'the wrong password of this test');
  await page.goto(`${APP}/`);
  await page.waitForURL(/\/frontend\/login/);
  await page.getByLabel('Username').waitFor();
  await shot(page, 'login');
  await page.getByLabel('Username').fill(S.outsider);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: /sign in/i }).click();
  const alert = page.getByRole('alert').filter({ hasText: r.json.message });
  await alert.waitFor();
  if (!page.url().includes('/login')) throw new Error('left the login page after a wrong password');
});

test('login: Enter submits the form and leads into the app (no bounce back to the form)', async () => {
  const urls = [];
  const onNav = (f) => f === page.mainFrame() && urls.push(f.url());
  page.on('framenavigated', onNav);
  try {
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await page.getByTestId('current-user').filter({ hasText: 'admin' }).waitFor();
    await page.waitForLoadState('networkidle');
  } finally {
    page.off('framenavigated', onNav);
  }
  // A signed-in user sent back to the login page, even for a moment, sees the form again (and,
  // on a slow machine, stays there).
  const back = urls.filter((u) => /\/frontend\/login/.test(u));
  if (back.length) throw new Error(`after signing in the app went back to the login page: ${urls.map((u) => u.replace(BASE, '')).join(' -> ')}`);
  if (page.url().includes('/login')) throw new Error(`still on ${page.url()}`);
  await page.getByTestId('unread-badge').waitFor({ state: 'attached' });
});

test('first load: index.html asks for the page\'s chunks and data at once; each is asked once', async () => {
  // index.html's early script (frontend/tools/early.ts) preloads the page's chunks and asks the
  // API what the first screen needs before the app's code has arrived; the app then gets those
  // answers instead of asking again (routes.tsx, warmStart, asks the same). Were the two to
  // differ, an address would be asked twice. A new context: an empty cache, a browser that
  // signed in before.
  const c = await T.newContext(browser);
  await c.addCookies([
    { name: 'cube_session', value: admin.token, url: BASE, httpOnly: true, sameSite: 'Lax' },
    { name: 'myapp_username', value: 'admin', url: BASE, sameSite: 'Lax' },
  ]);
  const p = T.setPage(await c.newPage());
  const asked = []; // API addresses, in the order asked
  const status = new Map(); // every address answered, and how
  p.on('request', (r) => {
    const u = new URL(r.url());
    if (/^\/(api|myapp)\//.test(u.pathname)) asked.push(`${u.pathname}${u.search}`);
  });
  p.on('response', (r) => status.set(new URL(r.url()).pathname, r.status()));
  let t;
  try {
    await p.goto(`${APP}/pipelines?f=name:ct:e2e&sort=-id&ps=50`);
    await listReady(p);
    await p.waitForLoadState('networkidle');
    t = await p.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const started = (re) => performance.getEntriesByType('resource').filter((e) => re.test(new URL(e.name).pathname)).map((e) => e.startTime);
      return {
        dcl: nav.domContentLoadedEventStart,
        preloads: [...document.querySelectorAll('link[rel="modulepreload"]')].map((l) => new URL(l.href).pathname),
        page: started(/\/assets\/PipelineListPage-[^/]*\.js$/),
        list: started(/^\/api\/pipeline_modelview\/$/),
      };
    });
  } finally {
    await T.closeContext(c);
    T.setPage(page);
  }
  const twice = asked.filter((u, i) => asked.indexOf(u) !== i);
  if (twice.length) throw new Error(`asked more than once: ${[...new Set(twice)].join(', ')}\n  all: ${asked.join('\n  ')}`);
  const info = asked.filter((u) => u === '/api/pipeline_modelview/_info');
  const lists = asked.filter((u) => u.startsWith('/api/pipeline_modelview/?'));
  if (info.length !== 1 || lists.length !== 1) throw new Error(`expected one _info and one list request, got:\n  ${asked.join('\n  ')}`);
  // Asked by index.html: before the app's scripts have run (DOMContentLoaded waits for them).
  if (!(t.list[0] < t.dcl)) throw new Error(`the list's first page was asked at ${t.list[0]} ms, after the app's code ran (${t.dcl} ms)`);
  if (!(t.page[0] < t.dcl)) throw new Error(`the page's chunk was asked at ${t.page[0]} ms, after the app's code ran (${t.dcl} ms)`);
  // Every preloaded file is one of this build's and arrived.
  const bad = t.preloads.filter((f) => status.get(f) !== 200);
  if (!t.preloads.length || bad.length) throw new Error(`preloads not answered 200: ${bad.join(', ') || '(no preloads)'}`);
  const fd = JSON.parse(new URL(lists[0], BASE).searchParams.get('form_data'));
  const got = JSON.stringify([fd.filters, fd.page, fd.page_size, fd.order_column, fd.order_direction]);
  if (got !== JSON.stringify([[{ col: 'name', opr: 'ct', value: 'e2e' }], 0, 50, 'id', 'desc']))
    throw new Error(`the list asked ${JSON.stringify(fd)}, not the URL's state`);
});

test('projects: create a project through the form', async () => {
  // By address: this test does not depend on where the sign-in left the page.
  await page.goto(`${APP}/r/project_modelview`);
  await page.getByTestId('list-create').click();
  await page.waitForURL(/\/r\/project_modelview\/new/);
  const form = page.getByTestId('resource-form');
  await form.getByLabel('Name', { exact: true }).fill(S.project);
  await form.getByLabel('Description').fill('made by the end-to-end test');
  await form.getByTestId('form-submit').click();
  // The form goes to the new project's page.
  await page.waitForURL(/\/r\/project_modelview\/\d+$/);
  S.projectId = Number(/(\d+)$/.exec(page.url())[1]);
  const made = await admin.get(`/api/project_modelview/${S.projectId}`);
  if (made.name !== S.project) throw new Error(`project ${S.projectId} is "${made.name}"`);
  await menu(page, 'Projects', '/r/project_modelview');
  await page.getByRole('row').filter({ hasText: S.project }).first().waitFor();
  await shot(page, 'project-list');
});

test('models: a model version registered through the generic form, with its metrics as JSON', async () => {
  need(S.projectId, 'the project');
  // The Serving area of the menu, folded at first.
  await page.getByRole('menuitem', { name: 'Serving' }).click();
  await menu(page, 'Models', '/r/training_model_modelview');
  await page.getByTestId('list-create').click();
  await page.waitForURL(/\/r\/training_model_modelview\/new/);
  const form = page.getByTestId('resource-form');
  await pickOption(page, form.getByRole('combobox', { name: 'Project' }), S.project);
  await form.getByLabel('Name', { exact: true }).fill('churn');
  await form.getByLabel('Version').fill('v1');
  await form.getByLabel('Framework').fill('pytorch');
  // Not JSON: the form says so and sends nothing.
  await form.getByLabel('Metrics').fill('{"auc": 0.91');
  await form.getByTestId('form-submit').click();
  await form.locator('.ant-form-item-explain-error').filter({ hasText: /JSON/i }).first().waitFor();
  if (!page.url().endsWith('/new')) throw new Error(`left the form with invalid JSON: ${page.url()}`);
  await form.getByLabel('Metrics').fill('{"auc": 0.91, "epochs": 12}');
  await form.getByTestId('form-submit').click();
  await page.waitForURL(/\/r\/training_model_modelview\/\d+$/);
  const id = Number(/(\d+)$/.exec(page.url())[1]);
  const made = await admin.get(`/api/training_model_modelview/${id}`);
  if (made.name !== 'churn' || made.version !== 'v1' || made.project?.id !== S.projectId || made.metrics?.epochs !== 12) {
    throw new Error(`model ${id}: ${JSON.stringify(made)}`);
  }
  await page.getByText('"epochs"').first().waitFor();
  await menu(page, 'Models', '/r/training_model_modelview');
  await page.getByRole('row').filter({ hasText: S.project }).filter({ hasText: 'v1' }).first().waitFor();
  await shot(page, 'model-list');
});

test('lists: row hints show on hover; delete asks first (keyboard or mouse), Cancel keeps the row, OK removes it', async () => {
  // Row hints and the delete confirmation mount at the first hover or click (generic/Hint.tsx):
  // this is what a user sees of them.
  const name = `${S.project}-gone`;
  const made = await admin.post('/api/project_modelview/', { name, type: 'org' });
  await page.goto(`${APP}/r/project_modelview?f=name:eq:${encodeURIComponent(name)}`);
  await listReady(page);
  const row = page.getByRole('row').filter({ hasText: name });
  await row.getByTestId('row-edit').hover();
  await page.getByRole('tooltip', { name: 'Edit' }).waitFor();
  // From the keyboard first: the confirmation opens and the button keeps the focus.
  await row.getByTestId('row-delete').focus();
  await page.keyboard.press('Enter');
  const confirm = page.locator('.ant-popconfirm').filter({ hasText: 'Delete this record?' });
  await confirm.waitFor();
  const focused = await page.evaluate(() => document.activeElement?.getAttribute('data-testid'));
  if (focused !== 'row-delete') throw new Error(`after Enter the focus is on ${focused ?? 'nothing'}, not the delete button`);
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await confirm.waitFor({ state: 'hidden' });
  if ((await admin.call('GET', `/api/project_modelview/${made.id}`)).status !== 200) throw new Error('Cancel deleted the project');
  await row.getByTestId('row-delete').click();
  await confirm.waitFor();
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await row.waitFor({ state: 'detached' });
  const gone = await admin.call('GET', `/api/project_modelview/${made.id}`);
  if (gone.status !== 404) throw new Error(`after OK the project answers ${gone.status}`);
});

test('projects: add the member on the members page', async () => {
  need(S.projectId, 'the project');
  await page.goto(`${APP}/members?project=${S.projectId}`);
  await page.getByTestId('members-add').click();
  const dialog = page.getByRole('dialog');
  await pickOption(page, dialog.getByRole('combobox', { name: 'User' }), S.member);
  await dialog.getByTestId('member-submit').click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByRole('row').filter({ hasText: S.member }).first().waitFor();
  const l = await admin.list('project_user_modelview', { filters: [{ col: 'project', opr: 'rel_o_m', value: S.projectId }] });
  if (!l.data.some((m) => m.user?.username === S.member)) throw new Error('the API does not list the membership');
});

test('editor: three tasks by drag and drop, two edges, arguments filled, saved', async () => {
  need(S.projectId, 'the project');
  await menu(page, 'Pipelines', '/pipelines');
  await page.getByTestId('pipeline-new').click();
  const dialog = page.getByRole('dialog');
  await pickOption(page, dialog.getByRole('combobox', { name: 'Project' }), S.project);
  await dialog.getByLabel('Name', { exact: true }).fill(S.pipeline);
  // Enter in the form submits the dialog (keyboard use).
  await dialog.getByLabel('Name', { exact: true }).press('Enter');
  await page.waitForURL(/\/pipelines\/\d+$/);
  S.pipelineId = Number(/(\d+)$/.exec(page.url())[1]);
  await page.getByTestId('editor-empty').waitFor();

  for (let i = 0; i < 3; i++) {
    // The canvas narrows while the task panel is open, so the spot is worked out afresh: left
    // of the middle, below the empty-canvas hint, clear of the minimap (bottom right) and the
    // zoom controls (bottom left).
    const pane = await page.locator('.react-flow__pane').boundingBox();
    await dropTemplate(page, 'customize', pane.width * 0.4, pane.height * (0.35 + 0.2 * i));
    await eventually('a node per drop', async () => (await nodes(page).count()) === i + 1);
    // The dropped task is selected and its panel open: fill its required argument.
    const panel = page.getByTestId('task-panel');
    // Each task takes a moment, so the run detail has states to show between queued and done.
    await argInput(panel, 'Command').fill(`echo ${S.marker} task-${i + 1}; sleep 2`);
  }
  // Each drop said what the task still needs; the notes replace each other instead of piling
  // up over the toolbar.
  const notes = await page.locator('.ant-message-notice').filter({ hasText: 'before it can be saved' }).allTextContents();
  if (notes.length !== 1 || !notes[0].includes('customize-3')) throw new Error(`notes shown after three drops: ${JSON.stringify(notes)}`);
  await page.getByTestId('task-panel').getByRole('button', { name: /close/i }).click();
  // Auto-layout fits every node into view, so all handles can be reached.
  await page.getByTestId('editor-layout').click();
  await page.waitForTimeout(600);
  const drafts = await nodeIds(page);
  await connect(page, drafts[0], drafts[1]);
  await connect(page, drafts[1], drafts[2]);
  await eventually('two edges', async () => (await edges(page).count()) === 2);
  // Laid out again with the edges: a chain from top to bottom.
  await page.getByTestId('editor-layout').click();
  await page.waitForTimeout(600);

  await page.getByTestId('editor-save').click();
  await page.getByTestId('editor-save').and(page.locator('[data-dirty="false"]')).waitFor();
  const p = await admin.get(`/api/pipeline_modelview/${S.pipelineId}`);
  const tasks = await admin.list('task_modelview', { filters: [{ col: 'pipeline', opr: 'rel_o_m', value: S.pipelineId }], page_size: 50 });
  if (tasks.count !== 3) throw new Error(`the API has ${tasks.count} tasks`);
  for (const t of tasks.data) {
    const full = await admin.get(`/api/task_modelview/${t.id}`);
    if (!String(full.args?.command ?? '').includes(S.marker)) throw new Error(`task ${t.name}: args ${JSON.stringify(full.args)}`);
  }
  // The chain, first to last, from the stored dag_json.
  const dag = p.dag_json ?? {};
  const byName = new Map(tasks.data.map((t) => [t.name, String(t.id)]));
  const first = Object.keys(dag).find((k) => dag[k].upstream.length === 0 && Object.values(dag).some((v) => v.upstream.includes(k)));
  const second = Object.keys(dag).find((k) => dag[k].upstream.includes(first));
  const third = Object.keys(dag).find((k) => dag[k].upstream.includes(second));
  const edgeCount = Object.values(dag).reduce((n, v) => n + v.upstream.length, 0);
  if (edgeCount !== 2 || !first || !second || !third) throw new Error(`dag_json is ${JSON.stringify(dag)}`);
  S.chain = [first, second, third].map((n) => byName.get(n));
  S.taskNames = [first, second, third];
  await shot(page, 'pipeline-editor');
});

test('editor: after a reload the tasks, edges and arguments are still there', async () => {
  need(S.chain, 'the saved pipeline');
  await page.reload();
  await eventually('3 nodes and 2 edges', async () => (await nodes(page).count()) === 3 && (await edges(page).count()) === 2);
  const ids = await nodeIds(page);
  if ([...ids].sort().join() !== [...S.chain].sort().join()) throw new Error(`nodes ${ids} are not the saved tasks ${S.chain}`);
  for (const id of S.chain) {
    await node(page, id).click();
    const v = await argInput(page.getByTestId('task-panel'), 'Command').inputValue();
    if (!v.includes(S.marker)) throw new Error(`task ${id}: the Command argument is "${v}"`);
  }
  await page.getByTestId('task-panel').getByRole('button', { name: /close/i }).click();
});

test('editor: an edge that closes a cycle is refused with a message', async () => {
  need(S.chain, 'the saved pipeline');
  const panel = page.getByTestId('task-panel');
  if (await panel.isVisible()) await panel.getByRole('button', { name: /close/i }).click();
  await connect(page, S.chain[2], S.chain[0]);
  await page.locator('.ant-message-notice').filter({ hasText: /cycle/i }).waitFor();
  await page.waitForTimeout(300);
  const n = await edges(page).count();
  if (n !== 2) throw new Error(`${n} edges after the refused connection`);
  const dirty = await page.getByTestId('editor-save').getAttribute('data-dirty');
  if (dirty !== 'false') throw new Error('the refused edge left unsaved changes');
});

test('editor: a cron schedule shows its next fire times, and is saved', async () => {
  need(S.pipelineId, 'the pipeline');
  await page.getByTestId('editor-settings').click();
  const drawer = page.locator('.ant-drawer-content').filter({ has: page.getByTestId('settings-save') });
  await drawer.getByText('On a cron schedule').click();
  await drawer.getByLabel('Cron expression').fill(S.cron);
  const fires = page.getByTestId('cron-preview').locator('li[data-time]');
  await eventually('five next fire times', async () => (await fires.count()) >= 5);
  // Each one a Monday 04:30 (UTC): what the expression says.
  const times = await fires.evaluateAll((els) => els.map((e) => e.getAttribute('data-time')));
  for (const iso of times) {
    const d = new Date(iso);
    if (d.getUTCDay() !== 1 || d.getUTCHours() !== 4 || d.getUTCMinutes() !== 30) throw new Error(`${iso} is not a Monday 04:30`);
  }
  await shot(page, 'pipeline-settings');
  await drawer.getByTestId('settings-save').click();
  await drawer.waitFor({ state: 'hidden' });
  const p = await admin.get(`/api/pipeline_modelview/${S.pipelineId}`);
  if (p.schedule_type !== 'crontab' || p.cron_time !== S.cron) throw new Error(`stored: ${p.schedule_type} "${p.cron_time}"`);
});

test('runs: run from the editor; every task succeeds in the live DAG', async () => {
  need(S.chain, 'the saved pipeline');
  await page.getByTestId('editor-run').click();
  await page.getByTestId('editor-last-run').click();
  await page.waitForURL(/\/runs\/\d+$/);
  S.runId = Number(/(\d+)$/.exec(page.url())[1]);
  await page.getByTestId('run-node').first().waitFor();
  // The nodes change as the tasks run, without a reload.
  const seen = new Set();
  await eventually('the run succeeded', async () => {
    for (const s of await page.getByTestId('run-node').evaluateAll((els) => els.map((e) => e.getAttribute('data-state')))) seen.add(s);
    return (await page.locator('[data-testid="run-state"][data-state="succeeded"]').count()) > 0;
  }, { timeout: 60_000, every: 200 });
  const states = await page.getByTestId('run-node').evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
  await eventually('every node succeeded', async () => {
    const st = await page.getByTestId('run-node').evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
    return st.length === 3 && st.every((s) => s === 'succeeded');
  }).catch((e) => {
    throw new Error(`${e.message}; node states: ${states.join(', ')}`);
  });
  // Each task sleeps 2 s: a page that updates itself shows more than the final state.
  if (seen.size < 2) throw new Error(`the DAG showed only ${[...seen].join(', ')}: it did not follow the run live`);
  await shot(page, 'run-detail');
}, { timeout: 90_000 });

test('runs: a task\'s log shows what it echoed', async () => {
  need(S.runId, 'the run');
  await page.getByTestId('run-node').filter({ hasText: S.taskNames[1] }).click();
  const drawer = page.getByTestId('task-drawer');
  await drawer.waitFor();
  await drawer.getByTestId('task-log').filter({ hasText: `${S.marker} task-` }).waitFor({ timeout: 30_000 });
  await shot(page, 'log-drawer');
  await page.keyboard.press('Escape');
  await drawer.waitFor({ state: 'hidden' });
});

test('runs: the run list shows the run; a backfill fills the run history', async () => {
  need(S.runId, 'the run');
  await menu(page, 'Runs', '/runs');
  await page.getByRole('row').filter({ hasText: S.pipeline }).first().waitFor();
  await shot(page, 'run-list');

  // The newest Monday 04:30 UTC that has passed: the one tick of the schedule set above.
  const tick = new Date();
  tick.setUTCHours(4, 30, 0, 0);
  while (tick.getUTCDay() !== 1 || tick > new Date()) tick.setUTCDate(tick.getUTCDate() - 1);
  const fmt = (d) => d.toISOString().slice(0, 16).replace('T', ' ');
  await menu(page, 'Run history', '/run-history');
  await page.getByTestId('backfill-open').click();
  const dialog = page.getByRole('dialog');
  await pickOption(page, dialog.getByRole('combobox', { name: 'Pipeline' }), S.pipeline);
  await dialog.getByTestId('backfill-schedule').filter({ hasText: S.cron }).waitFor();
  const [from, to] = [new Date(tick.getTime() - 600_000), new Date(tick.getTime() + 600_000)];
  // The range picker's two inputs take typed dates; Enter confirms each.
  const start = dialog.getByPlaceholder('Start');
  const end = dialog.getByPlaceholder('End');
  await start.click();
  await start.fill(fmt(from));
  await start.press('Enter');
  await end.fill(fmt(to));
  // Enter on the last field confirms the range and submits the form; the button is the way
  // for a mouse user (a second backfill of the same tick would create nothing more).
  await end.press('Enter');
  const result = dialog.getByTestId('backfill-result');
  await result.waitFor({ timeout: 3000 }).catch(() => dialog.getByTestId('backfill-submit').click());
  await result.waitFor();
  const h = await admin.list('runhistory_modelview', { filters: [{ col: 'pipeline', opr: 'rel_o_m', value: S.pipelineId }] });
  const ticks = h.data.filter((r) => r.trigger === 'backfill').map((r) => r.cron_tick);
  if (ticks.length !== 1 || new Date(`${String(ticks[0]).replace(/Z?$/, 'Z')}`).getTime() !== tick.getTime()) {
    throw new Error(`backfill runs for ticks ${JSON.stringify(ticks)}, expected ${tick.toISOString()}`);
  }
  await page.keyboard.press('Escape');
  const row = page.getByRole('row').filter({ hasText: S.pipeline }).first();
  await row.waitFor();
  // A run's row offers stop once: its own button, not the view's generic action beside it.
  const stops = [await row.getByTestId('run-stop').count(), await row.getByTestId('row-action-stop').count()];
  if (stops[0] !== 1 || stops[1] !== 0) throw new Error(`run history row: ${stops[0]} stop buttons and ${stops[1]} generic stop actions, expected 1 and 0`);
  await shot(page, 'run-history');
});

test('tenancy: the member sees the project, another user sees neither it nor its pipeline', async () => {
  need(S.projectId, 'the project');
  const m = await freshUserPage(S.member);
  try {
    await menu(m.p, 'Projects', '/r/project_modelview');
    await m.p.getByRole('row').filter({ hasText: S.project }).first().waitFor();
  } finally {
    await T.closeContext(m.c);
  }
  // What the server tells the outsider about the project and the pipeline.
  const outsider = await Api.login(S.outsider, pw(S.outsider));
  const pr = await outsider.call('GET', `/api/project_modelview/${S.projectId}`);
  if (pr.status !== 404) throw new Error(`the API gives the outsider the project: ${pr.status}`);
  // The outsider's browser gets the session of that API login (the form was shown to work).
  const o = { c: await T.newContext(browser) };
  await o.c.addCookies([{ name: 'cube_session', value: outsider.token, url: BASE, httpOnly: true, sameSite: 'Lax' }]);
  o.p = T.setPage(await o.c.newPage());
  try {
    await o.p.goto(`${APP}/r/project_modelview`);
    await listReady(o.p);
    if (await o.p.getByRole('row').filter({ hasText: S.project }).count()) throw new Error('the outsider lists the project');
    allow(404, new RegExp(`/api/project_modelview/${S.projectId}$`), 'the outsider opens the project by its address');
    await o.p.goto(`${APP}/r/project_modelview/${S.projectId}`);
    await o.p.getByText(pr.json.message).first().waitFor();
    if (S.pipelineId) {
      await menu(o.p, 'Pipelines', '/pipelines');
      await listReady(o.p);
      if (await o.p.getByText(S.pipeline).count()) throw new Error('the outsider lists the pipeline');
      const pp = await outsider.call('GET', `/api/pipeline_modelview/${S.pipelineId}`);
      allow(404, new RegExp(`/api/pipeline_modelview/${S.pipelineId}$`), 'the outsider opens the pipeline by its address');
      await o.p.goto(`${APP}/pipelines/${S.pipelineId}`);
      await o.p.getByText(pp.json?.message ?? 'not found').first().waitFor();
      if (await o.p.locator('.react-flow__node').count()) throw new Error('the outsider sees the tasks');
    }
  } finally {
    await T.closeContext(o.c);
    T.setPage(page);
  }
}, { timeout: 120_000 });

test('members: a project creator who is not an admin adds someone by their exact username', async () => {
  // The member creates a project of their own; they share none with the outsider, and may not
  // list users: only the exact name finds the outsider.
  const member = await Api.login(S.member, pw(S.member));
  const own = await member.post('/api/project_modelview/', { name: `${S.project}-own` });
  const m = await freshUserPage(S.member);
  try {
    await m.p.goto(`${APP}/members?project=${own.id}`);
    await m.p.getByTestId('members-add').click();
    const dialog = m.p.getByRole('dialog');
    const box = dialog.getByRole('combobox', { name: 'User' });
    await box.click();
    // Part of the name (not a part of anyone they share a project with): nobody is offered.
    await box.fill(S.outsider.slice(3));
    await m.p.locator('.ant-select-dropdown:visible').getByText('Type the exact username').waitFor();
    await pickOption(m.p, box, S.outsider);
    await dialog.getByTestId('member-submit').click();
    await m.p.getByRole('row').filter({ hasText: S.outsider }).first().waitFor();
  } finally {
    await T.closeContext(m.c);
    T.setPage(page);
  }
  const l = await member.list('project_user_modelview', { filters: [{ col: 'project', opr: 'rel_o_m', value: own.id }] });
  if (!l.data.some((r) => r.user?.username === S.outsider && r.role === 'dev'))
    throw new Error(`the API does not list the outsider as a dev of the project: ${JSON.stringify(l.data)}`);
});

test('profile: a new password needs the present one; a wrong one gets the server\'s message', async () => {
  // A user of its own: the others' passwords stay as the other tests expect them.
  const u = `${S.outsider}-pw`;
  const roles = await admin.list('roles', { page_size: 100 });
  await admin.post('/api/users/', { username: u, password: pw(u), roles: [roles.data.find((r) => r.name === 'user').id] });
  const m = await freshUserPage(u);
  try {
    await m.p.goto(`${APP}/profile`);
    const form = m.p.getByTestId('password-form');
    await form.getByTestId('password-current').fill('not-my-password');
    await form.getByTestId('password-new').fill(`${u}-New2!`);
    await form.getByTestId('password-confirm').fill(`${u}-New2!`);
    allow(403, /\/api\/userinfo\/\d+$/, 'a wrong present password is refused');
    await form.getByTestId('password-submit').click();
    await form.getByRole('alert').filter({ hasText: 'current_password: does not match' }).waitFor();
    if ((await new Api().call('POST', '/api/login', { username: u, password: `${u}-New2!` })).status !== 401)
      throw new Error('the new password works after a wrong present one');
    await form.getByTestId('password-current').fill(pw(u));
    await form.getByTestId('password-submit').click();
    await m.p.getByText('Password changed').waitFor();
    await Api.login(u, `${u}-New2!`);
    // The change ended the sessions issued before it; this browser got a new one with the answer.
    await m.p.reload();
    await m.p.getByTestId('current-user').filter({ hasText: u }).waitFor();
    await m.p.getByTestId('password-form').waitFor();
  } finally {
    await T.closeContext(m.c);
    T.setPage(page);
  }
});

test('i18n: in Chinese the server\'s labels, help texts, titles and menu entries are Chinese too', async () => {
  const c = await T.newContext(browser);
  await c.addCookies([
    { name: 'cube_session', value: admin.token, url: BASE, httpOnly: true, sameSite: 'Lax' },
    { name: 'myapp_username', value: 'admin', url: BASE, sameSite: 'Lax' },
  ]);
  // Also run on the first about:blank, which has no storage.
  await c.addInitScript(() => {
    try {
      localStorage.setItem('cube.lang', 'zh');
    } catch {
      /* not the app's origin */
    }
  });
  const p = T.setPage(await c.newPage());
  try {
    await p.goto(`${APP}/r/project_modelview`);
    await listReady(p);
    await p.getByText('项目列表', { exact: true }).first().waitFor();
    await p.getByRole('columnheader', { name: '名称' }).first().waitFor();
    await p.locator('.ant-layout-sider').getByRole('link', { name: '项目成员', exact: true }).waitFor();
    if (await p.getByRole('columnheader', { name: 'Name', exact: true }).count()) throw new Error('an English column header is left');
    await shot(p, 'projects-zh');
    // A form's field labels and help texts too.
    await p.goto(`${APP}/r/project_modelview/new`);
    const form = p.getByTestId('resource-form');
    await form.getByLabel('名称', { exact: true }).waitFor();
    await form.getByText('唯一的项目名称').waitFor();
  } finally {
    await T.closeContext(c);
    T.setPage(page);
  }
});

test('editor: tasks added from the keyboard land in sight, clear of each other and of the task panel', async () => {
  need(S.projectId, 'the project');
  const made = await admin.post('/api/pipeline_modelview/', { project: S.projectId, name: `${S.pipeline}-keys` });
  await page.goto(`${APP}/pipelines/${made.id}`);
  await page.getByTestId('editor-empty').waitFor();
  // logical has no required argument: each Enter makes the task on the server and opens its panel.
  for (let i = 1; i <= 3; i++) {
    await page.getByTestId('palette-logical').focus();
    await page.keyboard.press('Enter');
    await eventually(`${i} nodes`, async () => (await nodes(page).count()) === i);
    await page.getByTestId('task-panel').waitFor();
  }
  const pane = await page.locator('.react-flow__pane').boundingBox();
  const boxes = await Promise.all((await nodes(page).all()).map((n) => n.boundingBox()));
  for (const [i, b] of boxes.entries()) {
    if (b.x < pane.x || b.y < pane.y || b.x + b.width > pane.x + pane.width || b.y + b.height > pane.y + pane.height) {
      throw new Error(`node ${i} at ${JSON.stringify(b)} is not inside the canvas ${JSON.stringify(pane)}`);
    }
    for (const c of boxes.slice(i + 1)) {
      if (b.x < c.x + c.width && c.x < b.x + b.width && b.y < c.y + c.height && c.y < b.y + b.height) {
        throw new Error(`nodes overlap: ${JSON.stringify(b)} and ${JSON.stringify(c)}`);
      }
    }
  }
  await page.getByTestId('editor-save').click();
  await eventually('saved', async () => (await page.getByTestId('editor-save').getAttribute('data-dirty')) === 'false');
});

test('layout: the editor and the run detail at 1920×1080', async () => {
  need(S.runId, 'the run');
  await page.setViewportSize({ width: 1920, height: 1080 });
  try {
    await page.goto(`${APP}/pipelines/${S.pipelineId}`);
    await eventually('3 nodes', async () => (await nodes(page).count()) === 3);
    await shot(page, 'pipeline-editor-1920');
    await page.goto(`${APP}/runs/${S.runId}`);
    await page.locator('[data-testid="run-state"][data-state="succeeded"]').waitFor();
    await shot(page, 'run-detail-1920');
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
});

// --- go ------------------------------------------------------------------------------------------

const t0 = Date.now();
let result;
try {
  result = await T.run();
} finally {
  if (admin && S.pipelineId) {
    // Leave no weekly cron running on a shared (dev) stack.
    await admin.put(`/api/pipeline_modelview/${S.pipelineId}`, { schedule_type: 'once' }).catch(() => {});
  }
  await browser?.close().catch(() => {});
}
console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)} s against ${BASE}; screenshots in ${rel(OUT)}/`);
console.log(`e2e: ${result.passed} passed, ${result.failed} failed`);
process.exit(result.failed ? 1 : 0);
