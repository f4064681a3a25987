// `kill -9` of `npm start` leaves its embedded Postgres running. The next `npm start` stops
// that orphan (its parent is gone) and starts normally; a second instance on a folder whose
// owner is still alive fails with a message that says so, never "undefined".
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { TEST_SECRET } from './helpers/constants.ts';

const root = path.resolve(import.meta.dirname, '..');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-orphan-'));
// As root, Postgres runs as its own user and must be able to enter the folder.
fs.chmodSync(dataDir, 0o755);
const children: ChildProcess[] = [];

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 1500));
  const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
  if (fs.existsSync(pidFile)) {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      // already gone
    }
  }
  await new Promise((r) => setTimeout(r, 1000));
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? ok(a.port) : fail(new Error('no port'))));
    });
  });
}

const pgPort = await freePort();

/** `p`, or a failure naming what did not happen within `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** `npm start`'s entry on the shared DATA_DIR; resolves when it listens or exits. */
async function npmStart(): Promise<{ child: ChildProcess; output: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['standalone/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      SERVER_SECRET: TEST_SECRET,
      PORT: String(await freePort()),
      EMBEDDED_PG_PORT: String(pgPort),
      SFU: 'off',
      JOBS: 'off',
      SMTP_URL: 'smtp://127.0.0.1:1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const out: string[] = [];
  child.stdout?.on('data', (d: Buffer) => out.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => out.push(d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const until = Date.now() + 120_000;
  while (!out.join('').includes('"listening"') && child.exitCode === null && child.signalCode === null) {
    if (Date.now() > until) throw new Error(`npm start did not start: ${out.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => out.join(''), exited };
}

test(
  'after kill -9 of npm start, the next start stops the orphaned Postgres and runs',
  { timeout: 300_000 },
  async () => {
    const first = await npmStart();
    assert.match(first.output(), /"listening"/, first.output());

    // While it runs, a second instance on the same folder is refused, and says why.
    const second = await npmStart();
    assert.equal(await second.exited, 1);
    assert.match(second.output(), /belongs to another running instance \(node pid \d+\)/);
    assert.doesNotMatch(second.output(), /undefined/);

    first.child.kill('SIGKILL');
    await first.exited;
    const pid = Number(fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    assert.doesNotThrow(() => process.kill(pid, 0), 'the orphaned postmaster is still running');

    const third = await npmStart();
    assert.match(third.output(), /"listening"/, third.output());
    assert.match(third.output(), /stopped the embedded Postgres a killed earlier run left behind/);
    third.child.kill('SIGTERM');
    assert.equal(await within(third.exited, 60_000, 'SIGTERM to stop the restarted instance'), 0);
  },
);
