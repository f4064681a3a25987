/**
 * External programs the ops and telemetry tests run (promtool, nginx, systemd-analyze,
 * openssl, prometheus): finding them, skipping loudly when one is missing, free ports,
 * waiting for a listener, and running a command to completion.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';

const EXTRA_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/sbin'];

/** Absolute path of `name` on PATH (plus the sbin folders), or undefined. */
export function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), ...EXTRA_DIRS].filter(Boolean);
  for (const dir of dirs) {
    const full = path.join(dir, name);
    try {
      fs.accessSync(full, fs.constants.X_OK);
      return full;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** CI (CI=true) must exercise everything: there a missing prerequisite fails instead of skipping. */
const IN_CI = process.env.CI === 'true';

/**
 * Skips `t` with one loud line (a skipped check is not a passed one); under CI=true fails it.
 * @throws an AssertionError under CI=true.
 */
export function skipMissing(t: TestContext, line: string): void {
  process.stdout.write(`\n!!! ${line}\n`);
  if (IN_CI) assert.fail(`CI=true: ${line}`);
  t.skip(line);
}

/**
 * The tool's path, or undefined after marking the test skipped with one loud line naming
 * the Debian package that provides it; under CI=true a missing tool fails the test.
 */
export function requireTool(t: TestContext, name: string, debianPackage: string): string | undefined {
  const found = which(name);
  if (found) return found;
  skipMissing(t, `SKIPPED: ${name} is not installed (apt-get install ${debianPackage}); "${t.name}" did not run`);
  return undefined;
}

/**
 * For a test file whose tests need tools, files or a worker: true when none of `missing` is
 * set. Otherwise prints one loud SKIPPING line and returns false (the file's tests skip);
 * under CI=true it also registers a failing test naming what is missing, so CI goes red.
 */
export function prerequisites(what: string, missing: readonly (string | false | undefined)[]): boolean {
  const absent = missing.filter((m): m is string => typeof m === 'string' && m.length > 0);
  if (!absent.length) return true;
  const line = `SKIPPING ${what}: missing ${absent.join(', ')}`;
  console.log(`!!! ${line} !!!`);
  if (IN_CI) test(`${what}: prerequisites are installed`, () => assert.fail(`CI=true: ${line}`));
  return false;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together. */
  output: string;
}

/** Runs a program to completion (with `input` on stdin when given). */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, output: stdout + stderr }));
    // A program that reads no input may exit before its stdin is closed: the EPIPE that
    // follows says nothing about the run (its exit code and output do).
    child.stdin.on('error', () => undefined);
    if (opts.input === undefined) child.stdin.end();
    else child.stdin.end(opts.input);
  });
}

export { freePort } from '../../lib/freePort.ts';

/**
 * A self-signed certificate for `host`, valid a day (with `host` as its subjectAltName), as
 * `cert.pem` and `key.pem` in `dir`: what the nginx configs under test are pointed at in
 * place of Let's Encrypt's. Fails the test when openssl does.
 */
export async function selfSignedCert(dir: string, host: string): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const made = await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    `/CN=${host}`,
    '-addext',
    `subjectAltName=DNS:${host}`,
  ]);
  assert.equal(made.code, 0, made.output);
  return { cert, key };
}

/** Resolves once something accepts connections on 127.0.0.1:`port`. @throws after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 15_000, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null)
      throw new Error(`process exited with ${child.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls `fn` until it returns a value other than undefined. @throws after `timeoutMs`. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `${what}: not within ${timeoutMs} ms${last instanceof Error ? ` (last error: ${last.message})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A systemd unit (or drop-in) file: each section's settings in order, repeated keys kept. */
export type UnitFile = Map<string, [string, string][]>;

/** Parses systemd's ini-like unit syntax (comments, sections, `Key=value`; no line continuations). */
export function parseUnit(text: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: [string, string][] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header?.[1]) {
      section = unit.get(header[1]) ?? [];
      unit.set(header[1], section);
      continue;
    }
    const eq = line.indexOf('=');
    if (!section || eq < 0) throw new Error(`not a unit-file line: ${line}`);
    section.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return unit;
}

/** Every value of `key` in `section`, in order. */
export function unitValues(unit: UnitFile, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}
