// A Vite plugin: puts the script of tools/early.ts at the top of index.html's head, with what it
// needs to know of the app: the routes of src/routes.tsx (read from its source, so the routes
// stay declared in one place) and, for each page, the files of its chunk as this build wrote
// them (its own file and the files it imports, less those index.html already loads).
//
// A route is read in the form routes.tsx writes every route:
//   { path: 'pipelines', ...page(() => import('./editor/PipelineListPage'), () => 'pipeline_modelview') }
// (`index: true` and `children` as react-router has them). A `page(...)` call in another form
// fails the build rather than leaving that page out.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { build, type IndexHtmlTransformContext, type Plugin } from 'vite';

export interface RouteSource {
  path?: string;
  index?: boolean;
  children?: RouteSource[];
  page?: { module: string; listView?: string };
}

function fail(file: string, node: ts.Node, why: string): never {
  const sf = node.getSourceFile();
  const { line } = sf.getLineAndCharacterOfPosition(node.getStart());
  throw new Error(`${file}:${line + 1}: ${why}`);
}

// The `routes` array of routes.tsx, as data.
export function readRoutes(file: string): RouteSource[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true, ts.ScriptKind.TSX);
  let pages = 0;
  const countPages = (n: ts.Node): void => {
    if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'page') pages++;
    ts.forEachChild(n, countPages);
  };
  let list: ts.ArrayLiteralExpression | undefined;
  const find = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.name.text === 'routes' && n.initializer && ts.isArrayLiteralExpression(n.initializer))
      list = n.initializer;
    ts.forEachChild(n, find);
  };
  find(sf);
  if (!list) throw new Error(`${file}: no \`const routes = [...]\``);
  countPages(list);
  let found = 0;
  const routes = (arr: ts.ArrayLiteralExpression): RouteSource[] =>
    arr.elements.map((el) => {
      if (!ts.isObjectLiteralExpression(el)) fail(file, el, 'a route that is not an object literal');
      const r: RouteSource = {};
      for (const p of el.properties) {
        if (ts.isSpreadAssignment(p)) {
          const call = p.expression;
          if (!ts.isCallExpression(call) || !ts.isIdentifier(call.expression) || call.expression.text !== 'page') continue;
          const [load, listView] = call.arguments;
          const body = load && ts.isArrowFunction(load) ? load.body : undefined;
          const spec =
            body && ts.isCallExpression(body) && body.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(body.arguments[0])
              ? body.arguments[0].text
              : undefined;
          if (!spec) fail(file, call, "page(...) whose first argument is not () => import('...')");
          if (listView && !ts.isArrowFunction(listView)) fail(file, listView, 'page(...) whose second argument is not an arrow function');
          r.page = { module: spec, listView: listView?.getText() };
          found++;
        } else if (ts.isPropertyAssignment(p) && ts.isIdentifier(p.name)) {
          const v = p.initializer;
          if (p.name.text === 'path') {
            if (!ts.isStringLiteral(v)) fail(file, v, 'a route path that is not a string literal');
            r.path = v.text;
          } else if (p.name.text === 'index') {
            r.index = v.kind === ts.SyntaxKind.TrueKeyword;
          } else if (p.name.text === 'children') {
            if (!ts.isArrayLiteralExpression(v)) fail(file, v, 'route children that are not an array literal');
            r.children = routes(v);
          }
        }
      }
      return r;
    });
  const out = routes(list);
  if (found !== pages) throw new Error(`${file}: ${pages - found} page(...) call(s) outside a route object of \`routes\``);
  return out;
}

type Bundle = NonNullable<IndexHtmlTransformContext['bundle']>;
type Chunk = Extract<Bundle[string], { type: 'chunk' }>;

// The files a chunk needs before it runs: itself and its static imports, recursively.
function closure(bundle: Bundle, start: string): string[] {
  const seen = new Set<string>();
  const walk = (name: string) => {
    const c = bundle[name];
    if (seen.has(name) || !c || c.type !== 'chunk') return;
    seen.add(name);
    for (const i of c.imports) walk(i);
  };
  walk(start);
  return [...seen];
}

// tools/early.ts as one small function, built the way the app is (its imports from src/ are
// the app's own code), and nothing from a module but what it uses.
async function buildEarly(root: string): Promise<string> {
  const out = await build({
    configFile: false,
    root,
    // Its imports from src/ bring their own imports (React, react-query) that the tree-shaking
    // then drops; their bundling warnings are the app build's to show.
    logLevel: 'error',
    mode: 'production',
    define: { 'process.env.NODE_ENV': JSON.stringify('production') },
    build: {
      write: false,
      emptyOutDir: false,
      minify: true,
      lib: { entry: path.join(root, 'tools/early.ts'), formats: ['iife'], name: 'early' },
      rolldownOptions: { treeshake: { moduleSideEffects: false } },
    },
  });
  const first = (Array.isArray(out) ? out[0] : out) as { output?: { type: string; code?: string }[] };
  const code = first.output?.find((o) => o.type === 'chunk')?.code;
  if (!code) throw new Error('tools/early.ts: the build wrote nothing');
  // Inlined in every page's head: a guard against an import that drags in a library.
  if (code.length > 8000) throw new Error(`tools/early.ts built to ${code.length} bytes (over 8000): what does it import?`);
  return code;
}

export function firstLoad(): Plugin {
  let base = '/';
  let root = '';
  return {
    name: 'cube-first-load',
    apply: 'build',
    configResolved(config) {
      base = config.base;
      root = config.root;
    },
    transformIndexHtml: {
      order: 'post',
      async handler(html, ctx) {
        const bundle = ctx.bundle;
        if (!bundle) return html;
        const routesFile = path.join(root, 'src/routes.tsx');
        const chunks = Object.values(bundle).filter((c): c is Chunk => c.type === 'chunk');
        const entry = chunks.find((c) => c.isEntry);
        if (!entry) throw new Error('no entry chunk');
        const loaded = new Set(closure(bundle, entry.fileName));
        // Each file once, the pages naming them by their place in this list.
        const files: string[] = [];
        const filesOf = (module: string): string => {
          const abs = path.resolve(path.dirname(routesFile), module);
          const chunk = chunks.find((c) => c.facadeModuleId !== null && c.facadeModuleId.replace(/\.[jt]sx?$/, '') === abs);
          if (!chunk) throw new Error(`${routesFile}: no chunk of this build is the page ${module}`);
          const refs = closure(bundle, chunk.fileName)
            .filter((f) => !loaded.has(f))
            .map((f) => {
              if (!files.includes(f)) files.push(f);
              return `F[${files.indexOf(f)}]`;
            });
          return `[${refs.join(',')}]`;
        };
        // The routes as tools/early.ts reads them (EarlyRoute), the list views' functions as
        // routes.tsx writes them.
        const js = (rs: RouteSource[]): string =>
          `[${rs
            .map((r) => {
              const parts: string[] = [];
              if (r.path !== undefined) parts.push(`path:${JSON.stringify(r.path)}`);
              if (r.index) parts.push('index:true');
              if (r.children) parts.push(`children:${js(r.children)}`);
              if (r.page) {
                const page = [`files:${filesOf(r.page.module)}`];
                if (r.page.listView) page.push(`listView:${ts.transpile(`(${r.page.listView})`, { target: ts.ScriptTarget.ES2020 }).trim().replace(/;$/, '')}`);
                parts.push(`page:{${page.join(',')}}`);
              }
              return `{${parts.join(',')}}`;
            })
            .join(',')}]`;
        const routes = js(readRoutes(routesFile));
        const table = JSON.stringify(files.map((f) => `${base}${f}`));
        const basename = base.replace(/\/$/, '');
        const script = `(function(){var F=${table};${await buildEarly(root)}\nearly.start(${routes},${JSON.stringify(basename)})})()`.replace(/<\//g, '<\\/');
        // Before the first stylesheet or script of the head (an inline script after a stylesheet
        // waits for it to load), after the character set (which belongs in the first 1024 bytes).
        const tag = `<script>${script}</script>\n    `;
        const first = /<link[^>]*rel="(stylesheet|modulepreload)"|<script/.exec(html.slice(html.indexOf('<head>')));
        if (!first) return html.replace('</head>', `  ${tag}</head>`);
        const at = html.indexOf('<head>') + first.index;
        return `${html.slice(0, at)}${tag}${html.slice(at)}`;
      },
    },
  };
}
