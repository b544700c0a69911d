#!/usr/bin/env node
// Sign-up by first sign-in, on a stack whose cube-api runs with CUBE_AUTO_REGISTER=1
// (test_signup.sh restarts it so): a new name with a long enough password becomes an account of
// role "user" in the public project; a short password, a name the server would not accept and
// a taken name make none; the login page says how, and a new name signs in there straight into
// the app. The last line is `signup: N passed, N failed`; screenshots go to tests/out/signup/.
//
//   node tests/e2e/signup.mjs      CUBE_TEST_URL (http://127.0.0.1:18080), CUBE_TEST_ADMIN_PASSWORD
import path from 'node:path';
import { ADMIN_PASSWORD, Api, BASE, ROOT, createRunner, launch, placeholderReason, rel } from './lib.mjs';

const OUT = path.join(ROOT, 'tests/out/signup');
const APP = `${BASE}/frontend`;
const R = Date.now().toString(36).slice(-6); // unique names per run
const PW = `pw-${R}-long`; // 8 or more characters: AUTH_MIN_PASSWORD

const T = createRunner({ outDir: OUT });
const { test, allow, need } = T;
let admin;
let browser;

// Whether an account of that name exists, as the admin's user list says.
async function exists(username) {
  const r = await admin.list('users', { filters: [{ col: 'username', opr: 'eq', value: username }] });
  return r.data.length > 0;
}
async function login(username, password) {
  return new Api().call('POST', '/api/login', { username, password });
}

test('setup: cube-api says sign-up is on', async () => {
  const cfg = await new Api().get('/api/login');
  if (cfg.auto_register !== true) throw new Error(`GET /api/login says auto_register ${JSON.stringify(cfg.auto_register)}: is cube-api running with CUBE_AUTO_REGISTER=1?`);
  admin = await Api.login('admin', ADMIN_PASSWORD);
});

test('api: a first sign-in with a new name and a long enough password makes the account', async () => {
  need(admin, 'the admin session');
  const name = `su${R}a`;
  if (await exists(name)) throw new Error(`${name} exists before signing up`);
  const first = await login(name, PW);
  if (first.status !== 200 || !first.json?.result?.token) throw new Error(`first sign-in -> ${first.status} ${first.text.slice(0, 200)}`);
  if (!(await exists(name))) throw new Error(`no account ${name} after the first sign-in`);
  // The same name and password again: a sign-in now, not a second account.
  const again = await login(name, PW);
  if (again.status !== 200) throw new Error(`second sign-in -> ${again.status}`);
  const wrong = await login(name, `${PW}-not`);
  if (wrong.status !== 401) throw new Error(`the new account with a wrong password -> ${wrong.status}, expected 401`);
  // An ordinary user, in the public project and nowhere else.
  const me = new Api(first.json.result.token);
  const info = await me.get('/api/userinfo/');
  const roles = (info.data?.[0]?.roles ?? []).map((r) => r.name);
  if (info.data?.[0]?.username !== name || roles.join() !== 'user') throw new Error(`the new account's profile: ${JSON.stringify(info.data)}`);
  const projects = (await me.list('project_modelview', { page_size: 100 })).data.map((p) => p.name);
  if (!projects.includes('public') || projects.some((p) => p === 'demo')) throw new Error(`projects the new account sees: ${JSON.stringify(projects)}`);
});

test('api: no account for a short password, a name the server refuses, or a taken name', async () => {
  need(admin, 'the admin session');
  const short = `su${R}b`;
  let r = await login(short, 'seven-7');
  if (r.status !== 401 || (await exists(short))) throw new Error(`a 7-character password -> ${r.status}, account made: ${await exists(short)}`);
  const bad = `Su_${R}`;
  r = await login(bad, PW);
  if (r.status !== 401 || (await exists(bad))) throw new Error(`the name ${bad} -> ${r.status}, account made: ${await exists(bad)}`);
  // A taken name with another password is a wrong password, and the account keeps its own.
  r = await login('admin', PW);
  if (r.status !== 401) throw new Error(`admin with another password -> ${r.status}, expected 401`);
  await Api.login('admin', ADMIN_PASSWORD);
});

const reason = placeholderReason();
if (reason) {
  // No web app on this machine (frontend/build.sh wrote the placeholder): the API tests still run.
  console.log(`# the web app was not built (${reason}): its test is left out`);
} else test('web app: the login page says how to sign up; a new name signs in straight into the app', async () => {
  need(admin, 'the admin session');
  const name = `su${R}c`;
  browser = await launch();
  const ctx = await T.newContext(browser);
  const page = T.setPage(await ctx.newPage());
  allow(401, /\/api\/userinfo\/$/, 'the session probe of a signed-out visitor answers 401');
  await page.goto(`${APP}/login`);
  await page.getByText(/First time here\?/).waitFor();
  await T.shot(page, 'login-signup');
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password').fill(PW);
  await page.getByLabel('Password').press('Enter');
  await page.getByTestId('current-user').filter({ hasText: name }).waitFor();
  if (page.url().includes('/login')) throw new Error(`still on ${page.url()}`);
  if (!(await exists(name))) throw new Error(`no account ${name} after signing up in the app`);
  await page.goto(`${APP}/r/project_modelview`);
  await page.getByRole('row').filter({ hasText: 'public' }).first().waitFor();
  await T.shot(page, 'projects-new-user');
  await T.closeContext(ctx);
});

const t0 = Date.now();
let result;
try {
  result = await T.run();
} finally {
  await browser?.close().catch(() => {});
}
console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)} s against ${BASE}; screenshots in ${rel(OUT)}/`);
console.log(`signup: ${result.passed} passed, ${result.failed} failed`);
process.exit(result.failed ? 1 : 0);
