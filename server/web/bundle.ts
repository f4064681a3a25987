/**
 * Builds the browser bundles (the room page with mediasoup-client) with esbuild when the
 * bundle is missing or older than its source: `npm start` needs no separate build step.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRIES = [
  { src: path.join(root, 'web-src', 'room.js'), out: path.join(root, 'server', 'web', 'static', 'room.bundle.js') },
];

function mtime(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/** Rebuilds stale bundles. @throws when esbuild fails (a syntax error in web-src). */
export async function ensureWebBundles(): Promise<void> {
  for (const e of ENTRIES) {
    if (mtime(e.out) >= mtime(e.src) && mtime(e.out) > 0) continue;
    await build({
      entryPoints: [e.src],
      outfile: e.out,
      bundle: true,
      format: 'esm',
      target: 'es2022',
      minify: true,
      sourcemap: false,
      logLevel: 'silent',
      legalComments: 'none',
    });
  }
}
