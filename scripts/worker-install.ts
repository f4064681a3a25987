/**
 * `npm install`'s postinstall: gets the mediasoup worker (the C++ media server live
 * sessions need) by mediasoup's own means, and never fails the install.
 *
 * - `MEDIASOUP_WORKER_BIN` set: that binary is used at run time; nothing to do.
 * - A worker already built or downloaded inside node_modules/mediasoup: nothing to do.
 * - Otherwise mediasoup's own postinstall runs (`node npm-scripts.mjs postinstall` in the
 *   package: its prebuilt download from GitHub releases, else a build from the source in
 *   the package, which needs Python 3, a C++ toolchain and network for its dependencies).
 *   First a 10 s probe of the download host: offline, we skip at once instead of waiting
 *   on connection and pip timeouts. The whole step is bounded by
 *   `MEDIASOUP_INSTALL_TIMEOUT_S` (default 900 s: a source build takes minutes).
 *
 * When no worker results, one line says that live sessions need one and how to provide it.
 * `package.json` keeps mediasoup's own install script off (`allowScripts`); this is the one
 * place it runs, so its failure cannot fail `npm install` / `npm ci`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const HINT =
  'recorder: no mediasoup worker, so live sessions are unavailable: set MEDIASOUP_WORKER_BIN to a mediasoup-worker binary, or install Python 3 and a C++ toolchain and run `npm rebuild` (README: "The mediasoup worker")';

/** The mediasoup package folder (its package.json is not exported: walk up from its entry). */
function mediasoupDir(): string | undefined {
  try {
    let dir = path.dirname(createRequire(import.meta.url).resolve('mediasoup'));
    while (!fs.existsSync(path.join(dir, 'npm-scripts.mjs'))) {
      const up = path.dirname(dir);
      if (up === dir) return undefined;
      dir = up;
    }
    return dir;
  } catch {
    return undefined;
  }
}

const workerPath = (dir: string) => path.join(dir, 'worker', 'out', 'Release', 'mediasoup-worker');

/** Whether the prebuilt download host answers within `ms`. */
async function reachable(url: string, ms: number): Promise<boolean> {
  try {
    await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(ms), redirect: 'manual' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs mediasoup's own postinstall in its package folder, its output to `logFile`;
 * resolves its exit code. pip gets short timeouts and one retry, so no network fails fast.
 */
function runMediasoupPostinstall(dir: string, timeoutS: number, logFile: string): Promise<number | null> {
  return new Promise((resolve) => {
    const log = fs.openSync(logFile, 'w');
    const child = spawn(process.execPath, ['npm-scripts.mjs', 'postinstall'], {
      cwd: dir,
      stdio: ['ignore', log, log],
      env: { PIP_DEFAULT_TIMEOUT: '10', PIP_RETRIES: '1', ...process.env },
    });
    const timer = setTimeout(() => {
      process.stderr.write(`recorder: mediasoup's worker install passed ${timeoutS} s; stopping it\n`);
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      fs.closeSync(log);
      resolve(code);
    });
    child.on('error', () => {
      clearTimeout(timer);
      fs.closeSync(log);
      resolve(null);
    });
  });
}

async function main(): Promise<void> {
  const given = process.env.MEDIASOUP_WORKER_BIN;
  if (given) {
    if (!fs.existsSync(given)) process.stdout.write(`recorder: MEDIASOUP_WORKER_BIN=${given} does not exist\n`);
    return;
  }
  const dir = mediasoupDir();
  if (!dir) return;
  if (fs.existsSync(workerPath(dir))) return;
  const timeoutS = Number(process.env.MEDIASOUP_INSTALL_TIMEOUT_S ?? 900) || 900;
  const host = process.env.MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL ?? 'https://github.com';
  const logFile = path.join(os.tmpdir(), `mediasoup-install-${process.pid}.log`);
  const tried = await reachable(host, 10_000);
  if (tried) await runMediasoupPostinstall(dir, timeoutS, logFile);
  if (!fs.existsSync(workerPath(dir)))
    process.stdout.write(
      `${HINT}${tried ? ` (mediasoup's install log: ${logFile})` : ' (its download host is unreachable)'}\n`,
    );
}

// Never fail the install: live sessions are optional, everything else works without them.
await main().catch(() => process.stdout.write(`${HINT}\n`));
