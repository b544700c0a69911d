// nginx gzips the app's scripts and styles on every request (about 2 MB for a cold load of a
// list page), on the same two cores the browser needs to compile and run them. This Vite plugin
// writes `<file>.gz` (gzip -9) next to each script and stylesheet of the build once, and nginx
// sends those as they are (`gzip_static on` for /frontend/assets/). The hashed names make a
// stale .gz impossible: a changed file has a new name, and vite empties dist/ before each build.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { constants, gzip } from 'node:zlib';
import type { Plugin } from 'vite';

const gzipAsync = promisify(gzip);
const COMPRESSIBLE = /\.(js|css|svg|json)$/;

export function precompress(): Plugin {
  let outDir = '';
  return {
    name: 'cube-precompress',
    apply: 'build',
    enforce: 'post',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    async writeBundle(options, bundle) {
      const dir = options.dir ?? outDir;
      await Promise.all(
        Object.values(bundle)
          .filter((f) => f.fileName.startsWith('assets/') && COMPRESSIBLE.test(f.fileName))
          .map(async (f) => {
            const raw = Buffer.from(f.type === 'chunk' ? f.code : f.source);
            const gz = await gzipAsync(raw, { level: constants.Z_BEST_COMPRESSION });
            // A file too small to shrink is sent as it is (nginx then compresses it or not, as
            // its own settings say).
            if (gz.length < raw.length) await writeFile(path.join(dir, `${f.fileName}.gz`), gz);
          }),
      );
    },
  };
}
