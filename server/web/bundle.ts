/**
 * Builds the browser bundles from web-src/ with esbuild when one is missing or older than
 * any browser source (web-src/, and lib/ for the signalling schemas both sides share):
 * `npm start` needs no separate build step. Outputs are gitignored; `npm install` builds
 * them (`prepare`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STATIC = path.join(root, 'server', 'web', 'static');
const ENTRIES = [
  /** Every page but the studio. */
  {
    src: path.join(root, 'web-src', 'app.tsx'),
    out: path.join(STATIC, 'app.bundle.js'),
    // Private mode muxes in the page with lib/media, which names Node's global Buffer.
    inject: [path.join(root, 'web-src', 'private', 'buffer.ts')],
  },
  /** The studio: green room and room, with mediasoup-client. */
  { src: path.join(root, 'web-src', 'studio', 'main.tsx'), out: path.join(STATIC, 'room.bundle.js') },
  /** The design system, for every page. */
  { src: path.join(root, 'web-src', 'design.css'), out: path.join(STATIC, 'app.bundle.css') },
];
const SOURCES = [path.join(root, 'web-src'), path.join(root, 'lib')];

function mtime(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/** The newest modification time of any file under `dir`. */
function newest(dir: string): number {
  let max = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) max = Math.max(max, mtime(path.join(e.parentPath, e.name)));
  return max;
}

/** Rebuilds stale bundles. @throws when esbuild fails (a syntax error in web-src). */
export async function ensureWebBundles(): Promise<void> {
  const sources = Math.max(...SOURCES.map(newest));
  for (const e of ENTRIES) {
    if (mtime(e.out) >= sources) continue;
    await build({
      entryPoints: [e.src],
      ...('inject' in e ? { inject: e.inject } : {}),
      outfile: e.out,
      bundle: true,
      format: 'esm',
      target: 'es2022',
      minify: true,
      sourcemap: false,
      logLevel: 'silent',
      legalComments: 'none',
      jsx: 'automatic',
      jsxImportSource: 'preact',
    });
  }
}
