/**
 * ops/systemd and the Prometheus drop-in, checked by systemd's own tools: `systemd-analyze
 * verify` (syntax, unknown keys, ExecStart binaries), `systemd-analyze security --offline`
 * (hardening score), `systemd-analyze timespan` (journald retention), `systemd-sysusers
 * --dry-run` (the service user).
 *
 * The units run `/usr/bin/node`; verify checks that the binary exists and is executable, so
 * the copies verified here name the Node that runs the tests instead (production installs
 * Node 24 as /usr/bin/node: ops/README.md).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTool, run, skipMissing, which, parseUnit, unitValues } from './helpers/tools.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sd = (...p: string[]) => path.join(root, 'ops', 'systemd', ...p);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-systemd-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const SERVICES = ['recorder-api.service', 'recorder-sfu.service', 'recorder-jobs.service'];

/** Copies the units into `dir`, with ExecStart's /usr/bin/node replaced by this Node. */
function stage(dir: string, edit: (text: string) => string = (s) => s): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return [...SERVICES, 'recorder.target'].map((f) => {
    const text = fs
      .readFileSync(sd(f), 'utf8')
      .replaceAll('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `);
    fs.writeFileSync(path.join(dir, f), edit(text));
    return path.join(dir, f);
  });
}

/** Lines of verify's output about our files (it may also warn about the host's own units). */
const ours = (output: string) => output.split('\n').filter((l) => /recorder/.test(l));

test('systemd-analyze verify accepts the units (and would refuse a broken one)', async (t) => {
  const sa = requireTool(t, 'systemd-analyze', 'systemd');
  if (!sa) return;
  const files = stage(path.join(tmp, 'ok'));
  const res = await run(sa, ['verify', ...files], { cwd: path.join(tmp, 'ok') });
  assert.equal(res.code, 0, res.output);
  assert.deepEqual(ours(res.output), [], res.output);
  // The same check on a copy with a misspelt key and a missing binary does complain.
  const broken = stage(path.join(tmp, 'broken'), (s) =>
    s.replace('ProtectSystem=strict', 'ProtectSystm=strict').replace(process.execPath, '/nonexistent/node'),
  );
  const bad = await run(sa, ['verify', broken[0] ?? ''], { cwd: path.join(tmp, 'broken') });
  assert.notEqual(bad.code, 0);
  assert.match(bad.output, /Unknown key 'ProtectSystm'/);
});

test('the services are hardened (systemd-analyze security: exposure at most 2.0 of 10)', async (t) => {
  for (const f of SERVICES) {
    const unit = parseUnit(fs.readFileSync(sd(f), 'utf8'));
    const s = (k: string) => unitValues(unit, 'Service', k);
    assert.deepEqual(s('User'), ['recorder'], `${f}: dedicated user`);
    assert.deepEqual(s('ProtectSystem'), ['strict'], f);
    assert.deepEqual(s('NoNewPrivileges'), ['yes'], f);
    assert.deepEqual(s('ReadWritePaths'), ['/var/lib/recorder'], f);
    assert.deepEqual(s('EnvironmentFile'), ['/etc/recorder/recorder.env'], f);
    assert.deepEqual(s('KillSignal'), ['SIGTERM'], f);
    assert.match(s('TimeoutStopSec')[0] ?? '', /^\d+s$/, `${f}: TimeoutStopSec`);
    assert.deepEqual(s('LogNamespace'), ['recorder'], `${f}: logs kept 30 days (journald@recorder)`);
    assert.match(s('ExecStart')[0] ?? '', /^\/usr\/bin\/node (server\/main|sfu\/main|server\/jobs\/main)\.ts$/, f);
  }
  assert.ok(fs.existsSync(path.join(root, 'server', 'main.ts')), 'the API entry point exists');
  const sa = requireTool(t, 'systemd-analyze', 'systemd');
  if (!sa) return;
  const dir = path.join(tmp, 'security');
  const files = stage(dir);
  for (const file of files.filter((f) => f.endsWith('.service'))) {
    const res = await run(sa, ['security', '--offline=yes', '--threshold=20', file], { cwd: dir });
    assert.equal(res.code, 0, `${path.basename(file)}: ${res.output.split('\n').slice(-3).join(' ')}`);
    assert.match(res.output, /Overall exposure level for .*: [0-1]\.\d OK/);
  }
  // A unit without the hardening scores worse and fails the same threshold.
  const bare = path.join(dir, 'bare.service');
  fs.writeFileSync(bare, `[Service]\nExecStart=${process.execPath} server/main.ts\n`);
  assert.notEqual((await run(sa, ['security', '--offline=yes', '--threshold=20', bare], { cwd: dir })).code, 0);
});

test('journald keeps the product\'s logs 30 days (namespace "recorder"), files cut daily', async (t) => {
  const dropIn = parseUnit(fs.readFileSync(sd('journald@recorder.conf.d', 'retention.conf'), 'utf8'));
  assert.deepEqual([...dropIn.keys()], ['Journal']);
  const journal = Object.fromEntries(dropIn.get('Journal') ?? []);
  assert.deepEqual(Object.keys(journal).sort(), ['MaxFileSec', 'MaxRetentionSec', 'Storage']);
  assert.equal(journal.Storage, 'persistent');
  const sa = requireTool(t, 'systemd-analyze', 'systemd');
  if (!sa) return;
  const micros = async (span: string) => {
    const res = await run(sa, ['timespan', span]);
    assert.equal(res.code, 0, res.output);
    return Number(/μs: (\d+)/.exec(res.output)?.[1]);
  };
  assert.equal(await micros(journal.MaxRetentionSec ?? ''), 30 * 86400 * 1e6);
  assert.equal(await micros(journal.MaxFileSec ?? ''), 86400 * 1e6);
});

test('systemd-sysusers creates the service user from the shipped file', async (t) => {
  const sysusers = requireTool(t, 'systemd-sysusers', 'systemd');
  if (!sysusers) return;
  const rootDir = path.join(tmp, 'sysroot');
  fs.mkdirSync(path.join(rootDir, 'etc'), { recursive: true });
  const res = await run(sysusers, ['--dry-run', `--root=${rootDir}`, sd('sysusers.d', 'recorder.conf')]);
  assert.equal(res.code, 0, res.output);
  assert.match(res.output, /Creating user '?recorder'? \(Recorder platform\)/);
});

test("the Prometheus retention drop-in verifies against Debian's prometheus.service", async (t) => {
  const sa = requireTool(t, 'systemd-analyze', 'systemd');
  if (!sa) return;
  const base = '/lib/systemd/system/prometheus.service';
  if (!fs.existsSync(base) || !which('prometheus')) {
    skipMissing(
      t,
      `SKIPPED: ${base} or /usr/bin/prometheus missing (apt-get install prometheus); "${t.name}" did not run`,
    );
    return;
  }
  const dir = path.join(tmp, 'prometheus');
  fs.mkdirSync(path.join(dir, 'prometheus.service.d'), { recursive: true });
  fs.copyFileSync(base, path.join(dir, 'prometheus.service'));
  fs.copyFileSync(
    path.join(root, 'ops', 'prometheus', 'prometheus.service.d', 'retention.conf'),
    path.join(dir, 'prometheus.service.d', 'retention.conf'),
  );
  const res = await run(sa, ['verify', path.join(dir, 'prometheus.service')], {
    cwd: dir,
    env: { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` },
  });
  assert.equal(res.code, 0, res.output);
  assert.deepEqual(
    res.output.split('\n').filter((l) => l.includes(dir)),
    [],
    res.output,
  );
  // The override replaces ExecStart (an empty ExecStart= first), keeping the package's $ARGS.
  const unit = parseUnit(fs.readFileSync(path.join(dir, 'prometheus.service.d', 'retention.conf'), 'utf8'));
  assert.deepEqual(unitValues(unit, 'Service', 'ExecStart'), [
    '',
    '/usr/bin/prometheus --storage.tsdb.retention.time=396d $ARGS',
  ]);
});
