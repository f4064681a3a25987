/**
 * ops/: Prometheus configuration and alert rules checked and unit-tested by promtool, a real
 * Prometheus started with the shipped flags scraping the real API, the Grafana dashboard's
 * queries, the compose file's structure, the environment file example, and the index.
 * (nginx: ops-nginx.test.ts; systemd: ops-systemd.test.ts.)
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { createMetrics } from '../server/core/metrics.ts';
import { Secrets } from '../server/core/crypto/secrets.ts';
import { parseConfig } from '../server/core/config.ts';
import { TEST_SECRET } from './helpers/constants.ts';
import { startTestServer } from './helpers/server.ts';
import { requireTool, run, freePort, waitForPort, eventually, parseUnit, unitValues } from './helpers/tools.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ops = (...p: string[]) => path.join(root, 'ops', ...p);
const read = (...p: string[]) => fs.readFileSync(ops(...p), 'utf8');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-ops-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: Record<string, string>;
}
const rules = (YAML.parse(read('prometheus', 'recorder-alerts.yml')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);

/** Every series name the product exposes (histograms with their _bucket/_sum/_count). */
function definedSeries(): Set<string> {
  const m = createMetrics(Secrets.load(TEST_SECRET, '/nonexistent'));
  const names = new Set(['up']);
  for (const metric of m.registry.getMetricsAsArray()) {
    names.add(metric.name);
    for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
  }
  return names;
}
const usedNames = (expr: string) =>
  [...expr.matchAll(/\b(recorder_[a-z0-9_]+|up)\b(?!\s*[=!~])/g)].map((x) => x[1] ?? '');

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; w: number };
  targets?: { expr: string; refId: string }[];
}
const dashboard = JSON.parse(read('grafana', 'dashboards', 'recorder-overview.json')) as {
  uid: string;
  panels: Panel[];
};
const dashboardExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p, expr: t.expr })));

test('promtool accepts the scrape configuration (with its rule file) and the alert rules', async (t) => {
  const promtool = requireTool(t, 'promtool', 'prometheus');
  if (!promtool) return;
  const config = await run(promtool, ['check', 'config', ops('prometheus', 'prometheus.yml')]);
  assert.equal(config.code, 0, config.output);
  assert.match(config.output, /SUCCESS: 1 rule files found/);
  const checked = await run(promtool, ['check', 'rules', ops('prometheus', 'recorder-alerts.yml')]);
  assert.equal(checked.code, 0, checked.output);
  assert.match(checked.output, new RegExp(`SUCCESS: ${rules.length} rules found`));
});

test('each alert fires on the failure it names and stays quiet on healthy input (promtool test rules)', async (t) => {
  const promtool = requireTool(t, 'promtool', 'prometheus');
  if (!promtool) return;
  const res = await run(promtool, ['test', 'rules', 'recorder-alerts.test.yml'], { cwd: ops('prometheus') });
  assert.equal(res.code, 0, res.output);
  // Every alert is exercised by at least one test case.
  const cases = read('prometheus', 'recorder-alerts.test.yml');
  for (const r of rules)
    assert.match(
      cases,
      new RegExp(`alertname: ${r.alert ?? '-'}\\b`),
      `${r.alert ?? r.record ?? ''} has no promtool test`,
    );
});

test('alerts and dashboard use only metrics the product defines; every alert links an existing runbook', () => {
  const defined = definedSeries();
  for (const r of rules) {
    assert.ok(r.alert, 'only alerting rules here');
    for (const name of usedNames(r.expr)) assert.ok(defined.has(name), `${r.alert}: unknown metric ${name}`);
    const runbook = r.annotations?.runbook;
    assert.ok(runbook && fs.existsSync(path.join(root, runbook)), `${r.alert}: runbook ${runbook ?? '(none)'} missing`);
    assert.ok(r.annotations?.summary && r.annotations.description, `${r.alert}: summary and description`);
  }
  assert.ok(dashboardExprs.length >= 20);
  for (const { panel, expr } of dashboardExprs) {
    const names = usedNames(expr);
    assert.ok(names.length > 0, `${panel.title}: no metric in ${expr}`);
    for (const name of names) assert.ok(defined.has(name), `dashboard panel "${panel.title}": unknown metric ${name}`);
  }
  // The requirement's list: SFU and job metrics exist for the code that will increment them.
  for (const n of [
    'recorder_sfu_sessions_live',
    'recorder_sfu_tracks_captured_total',
    'recorder_sfu_chunks_sealed_total',
    'recorder_sfu_chunks_lost_total',
    'recorder_jobs_queued',
    'recorder_jobs_running',
    'recorder_jobs_failed_total',
    'recorder_job_duration_seconds_bucket',
  ]) {
    assert.ok(defined.has(n), n);
  }
});

test('the dashboard is well-formed and every query is valid PromQL (checked by promtool)', async (t) => {
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const p of dashboard.panels) assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the 24-column grid`);
  const promtool = requireTool(t, 'promtool', 'prometheus');
  if (!promtool) return;
  // Grafana's variables replaced by what they expand to; each query becomes a recording rule.
  const records = dashboardExprs.map(({ panel, expr }, i) => ({
    record: `dashboard:panel_${panel.id}_${i}`,
    expr: expr.replaceAll('$__rate_interval', '5m').replaceAll('$job', '.*'),
  }));
  const file = path.join(tmp, 'dashboard-queries.yml');
  fs.writeFileSync(file, YAML.stringify({ groups: [{ name: 'dashboard', rules: records }] }));
  const res = await run(promtool, ['check', 'rules', file]);
  assert.equal(res.code, 0, res.output);
  // The check can fail: a broken query is refused.
  fs.writeFileSync(
    file,
    YAML.stringify({ groups: [{ name: 'dashboard', rules: [{ record: 'x:y', expr: 'sum(rate(up[5m])' }] }] }),
  );
  assert.notEqual((await run(promtool, ['check', 'rules', file])).code, 0);
});

test('Prometheus runs with the shipped flags: 13-month retention, the rules loaded, the API scraped', async (t) => {
  const prometheus = requireTool(t, 'prometheus', 'prometheus');
  if (!prometheus) return;
  const dropIn = parseUnit(read('prometheus', 'prometheus.service.d', 'retention.conf'));
  const execStart = unitValues(dropIn, 'Service', 'ExecStart').at(-1) ?? '';
  const flags = execStart
    .split(/\s+/)
    .slice(1)
    .filter((a) => a !== '$ARGS');
  assert.deepEqual(flags, ['--storage.tsdb.retention.time=396d']);

  const ts = await startTestServer();
  t.after(() => ts.close());
  const apiTarget = new URL(ts.url).host;
  const dir = path.join(tmp, 'prometheus');
  fs.mkdirSync(dir);
  fs.copyFileSync(ops('prometheus', 'recorder-alerts.yml'), path.join(dir, 'recorder-alerts.yml'));
  const config = read('prometheus', 'prometheus.yml')
    .replace("'127.0.0.1:3000'", `'${apiTarget}'`)
    .replace(/scrape_interval: \d+s/, 'scrape_interval: 1s')
    .replace(/scrape_timeout: \d+s/, 'scrape_timeout: 1s')
    .replace(/evaluation_interval: \d+s/, 'evaluation_interval: 1s');
  assert.ok(config.includes(apiTarget));
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const child = spawn(
    prometheus,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...flags,
    ],
    { stdio: 'ignore' },
  );
  t.after(() => child.kill('SIGTERM'));
  await waitForPort(port, 20_000, child);
  // Listening comes before the storage is open; /-/ready says when queries work.
  await eventually('Prometheus ready', async () =>
    (await fetch(`http://127.0.0.1:${port}/-/ready`)).ok ? true : undefined,
  );
  const api = async <T>(p: string): Promise<T> =>
    ((await (await fetch(`http://127.0.0.1:${port}${p}`)).json()) as { data: T }).data;

  const info = await api<{ storageRetention: string }>('/api/v1/status/runtimeinfo');
  assert.equal(info.storageRetention, '396d');

  const groups = await api<{ groups: { rules: { name: string; health: string }[] }[] }>('/api/v1/rules');
  const loaded = groups.groups.flatMap((g) => g.rules);
  assert.deepEqual(loaded.map((r) => r.name).sort(), rules.map((r) => r.alert ?? '').sort());

  await ts.client().get('/healthz');
  const target = await eventually('the API target is scraped', async () => {
    const targets = await api<{ activeTargets: { labels: { job: string }; health: string; lastError: string }[] }>(
      '/api/v1/targets',
    );
    return targets.activeTargets.find((x) => x.labels.job === 'recorder-api' && x.health === 'up');
  });
  assert.equal(target.lastError, '');
  const series = await eventually('request metrics are stored', async () => {
    const q = await api<{ result: { metric: Record<string, string> }[] }>(
      `/api/v1/query?query=${encodeURIComponent('recorder_http_request_duration_seconds_count{route="/healthz"}')}`,
    );
    return q.result.length ? q.result : undefined;
  });
  assert.equal(series[0]?.metric.job, 'recorder-api');
  // Every rule has been evaluated without error against the live data.
  await eventually('every rule evaluates', async () => {
    const now = await api<{ groups: { rules: { name: string; health: string }[] }[] }>('/api/v1/rules');
    const health = now.groups.flatMap((g) => g.rules).map((r) => r.health);
    return health.every((h) => h === 'ok') ? true : undefined;
  });
});

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  network_mode?: string;
  restart?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  stop_grace_period?: string;
  ports?: unknown;
}

test('compose file: the services, host networking, internals on loopback, declared volumes, grace periods as in the units', () => {
  const doc = YAML.parse(read('compose', 'compose.yaml'), { merge: true }) as {
    services: Record<string, ComposeService>;
    volumes: Record<string, unknown>;
  };
  const services = doc.services;
  assert.deepEqual(Object.keys(services).sort(), ['api', 'grafana', 'jobs', 'nginx', 'postgres', 'prometheus', 'sfu']);
  for (const [name, s] of Object.entries(services)) {
    assert.ok(s.image ?? s.build, `${name}: image or build`);
    assert.equal(s.network_mode, 'host', `${name}: host network (RTP ports, shared ops files)`);
    assert.equal(s.ports, undefined, `${name}: no port mappings with host networking`);
    assert.equal(s.restart, 'unless-stopped', `${name}: restarts`);
    for (const v of s.volumes ?? []) {
      const [source = ''] = v.split(':');
      if (source.startsWith('.'))
        assert.ok(fs.existsSync(path.resolve(ops('compose'), source)), `${name}: ${source} exists`);
      else if (!source.startsWith('/')) assert.ok(source in doc.volumes, `${name}: volume ${source} is declared`);
    }
  }
  // The product processes: the same entry points and stop budgets as the systemd units.
  for (const name of ['api', 'sfu', 'jobs'] as const) {
    const unit = parseUnit(read('systemd', `recorder-${name}.service`));
    const entry = unitValues(unit, 'Service', 'ExecStart')[0]?.split(/\s+/).slice(1);
    assert.deepEqual(services[name]?.command?.slice(1), entry, `${name}: command`);
    assert.equal(
      services[name]?.stop_grace_period,
      unitValues(unit, 'Service', 'TimeoutStopSec')[0],
      `${name}: stop grace period`,
    );
    assert.ok(services[name]?.volumes?.includes('recorder-data:/var/lib/recorder'), `${name}: DATA_DIR volume`);
  }
  // Only nginx (and the SFU's media) face the network; the rest binds loopback.
  assert.equal(services.api?.environment?.HOST, '127.0.0.1');
  assert.ok(services.postgres?.command?.includes('listen_addresses=127.0.0.1'));
  assert.ok(services.prometheus?.command?.includes('--web.listen-address=127.0.0.1:9090'));
  assert.equal(services.grafana?.environment?.GF_SERVER_HTTP_ADDR, '127.0.0.1');
  // Retention as in the systemd drop-in; the mounted files are the ones promtool checked.
  assert.ok(services.prometheus?.command?.includes('--storage.tsdb.retention.time=396d'));
  assert.ok(
    services.prometheus?.volumes?.includes('../prometheus/recorder-alerts.yml:/etc/prometheus/recorder-alerts.yml:ro'),
  );
  assert.ok(services.nginx?.volumes?.includes('../nginx/recorder.conf:/etc/nginx/conf.d/recorder.conf:ro'));
  // The image copies what exists.
  for (const m of read('compose', 'Dockerfile').matchAll(/^COPY (\S+)(?: (\S+))? \S+$/gm)) {
    for (const src of [m[1], m[2]].filter((x): x is string => !!x))
      assert.ok(fs.existsSync(path.join(root, src)), `Dockerfile COPY ${src}`);
  }
});

/** KEY=value lines of an EnvironmentFile (comments and blanks skipped). */
function envFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m?.[1]) env[m[1]] = m[2] ?? '';
  }
  return env;
}

test("the environment file example, with each unit's own settings, passes the product's config validation", () => {
  const example = envFile(read('recorder.env.example'));
  assert.ok(example.DATABASE_URL && example.PUBLIC_URL?.startsWith('https://'));
  for (const name of ['api', 'sfu', 'jobs']) {
    const unit = parseUnit(read('systemd', `recorder-${name}.service`));
    const own = Object.fromEntries(
      unitValues(unit, 'Service', 'Environment')
        .flatMap((v) => v.split(/\s+/))
        .map((kv) => kv.split('=') as [string, string]),
    );
    const config = parseConfig({ ...example, ...own });
    assert.equal(config.dataDir, '/var/lib/recorder', `${name}: DATA_DIR`);
    assert.deepEqual(
      unitValues(unit, 'Service', 'ReadWritePaths'),
      [config.dataDir],
      `${name}: DATA_DIR is the one writable path`,
    );
    assert.ok(config.secureCookies);
    if (name === 'api') {
      assert.equal(config.host, '127.0.0.1');
      assert.equal(config.trustProxy, true, 'behind nginx, which sets X-Request-ID and X-Forwarded-*');
      assert.deepEqual([config.sfu.mode, config.jobs.mode], ['off', 'off'], 'the SFU and jobs run as their own units');
    }
    if (name === 'sfu') assert.equal(config.sfu.port, 3001, 'nginx and Prometheus expect the SFU on 3001');
  }
  // A typo in the example is caught by the same validation.
  assert.throws(() => parseConfig({ ...example, DATABASE_URL: 'mysql://x' }));
});

test('ops/README.md indexes every file in ops/', () => {
  const index = read('README.md');
  const files = fs.globSync('**/*', { cwd: ops() }).filter((f) => fs.statSync(ops(f)).isFile() && f !== 'README.md');
  assert.ok(files.length >= 20);
  for (const f of files) assert.ok(index.includes(f), `ops/README.md does not mention ${f}`);
});
