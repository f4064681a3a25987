/**
 * ops/ for the fleet (#15): the compose topology (an API pair behind nginx, two SFU nodes, two
 * job workers, Postgres and an S3-compatible store) is consistent with itself, with the
 * systemd units and with the product's config validation; the fleet's nginx front passes
 * `nginx -t` and routes each SFU node's public signalling path to that node; Prometheus
 * scrapes every instance.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { parseConfig } from '../server/core/config.ts';
import { requireTool, run, parseUnit, unitValues, selfSignedCert } from './helpers/tools.ts';

const root = path.resolve(import.meta.dirname, '..');
const ops = (...p: string[]) => path.join(root, 'ops', ...p);
const read = (...p: string[]) => fs.readFileSync(ops(...p), 'utf8');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-ops-fleet-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  network_mode?: string;
  restart?: string;
  stop_grace_period?: string;
  volumes?: string[];
}
const doc = YAML.parse(read('compose', 'fleet.yaml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = doc.services;
const kinds = { api: ['api-1', 'api-2'], sfu: ['sfu-1', 'sfu-2'], jobs: ['jobs-1', 'jobs-2'] } as const;
const conf = read('nginx', 'recorder-fleet.conf');

/** KEY=value lines of an EnvironmentFile (comments and blanks skipped). */
function envFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m?.[1]) env[m[1]] = m[2] ?? '';
  }
  return env;
}
/** A service's environment with compose's ${VAR...} filled in, as the product would read it. */
const envOf = (s: Service) =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v.replace(/\$\{[^}]+\}/g, 'secret')]));

test('compose fleet: two API instances, two SFU nodes, two job workers over one Postgres and one S3 store', () => {
  for (const name of ['postgres', 'minio', 'minio-bucket', 'nginx', 'prometheus', ...Object.values(kinds).flat()])
    assert.ok(services[name], `${name} is in the topology`);
  for (const [name, s] of Object.entries(services)) {
    assert.ok(s.image ?? s.build, `${name}: image or build`);
    assert.equal(s.network_mode, 'host', `${name}: host network`);
    for (const v of s.volumes ?? []) {
      const [source = ''] = v.split(':');
      if (source.startsWith('.'))
        assert.ok(fs.existsSync(path.resolve(ops('compose'), source)), `${name}: ${source} exists`);
      else if (!source.startsWith('/')) assert.ok(source in doc.volumes, `${name}: volume ${source} is declared`);
    }
  }
  const example = envFile(read('recorder.env.example'));
  const seen = { ports: new Set<number>(), nodes: new Set<string>(), db: new Set<string>(), bucket: new Set<string>() };
  for (const [kind, names] of Object.entries(kinds)) {
    const unit = parseUnit(read('systemd', `recorder-${kind}.service`));
    for (const name of names) {
      const s = services[name]!;
      assert.deepEqual(s.command?.slice(1), unitValues(unit, 'Service', 'ExecStart')[0]?.split(/\s+/).slice(1));
      assert.equal(s.stop_grace_period, unitValues(unit, 'Service', 'TimeoutStopSec')[0], `${name}: stop budget`);
      const config = parseConfig({ ...example, ...envOf(s) });
      assert.equal(config.storage.kind, 's3', `${name}: chunks in the shared S3 store`);
      if (config.storage.kind === 's3') seen.bucket.add(`${config.storage.endpoint}/${config.storage.bucket}`);
      seen.db.add(config.databaseUrl ?? '');
      const port = kind === 'api' ? config.port : kind === 'sfu' ? config.sfu.port : config.jobs.metricsPort;
      assert.ok(!seen.ports.has(port), `${name}: port ${port} is its own`);
      seen.ports.add(port);
      if (kind === 'api')
        assert.deepEqual([config.sfu.mode, config.jobs.mode, config.trustProxy], ['off', 'off', true]);
      if (kind === 'sfu') {
        const node = config.sfu.nodeId ?? '';
        assert.ok(node && !seen.nodes.has(node), `${name}: a node id of its own`);
        seen.nodes.add(node);
        assert.equal(config.sfu.publicUrl, `wss://recorder.example.com/sfu/${node}`, `${name}: signals through nginx`);
        assert.ok(!seen.ports.has(config.sfu.rtcPortBase), `${name}: RTP ports of its own`);
        seen.ports.add(config.sfu.rtcPortBase);
        // nginx sends the node's public path to that node's signalling.
        const upstream = new RegExp(`location = /sfu/${node} \\{\\s*proxy_pass http://(\\w+)/sfu;`).exec(conf)?.[1];
        assert.ok(upstream, `nginx routes /sfu/${node}`);
        assert.match(conf, new RegExp(`upstream ${upstream} \\{\\s*server 127\\.0\\.0\\.1:${config.sfu.port};`));
      }
      if (kind === 'api') assert.match(conf, new RegExp(`server 127\\.0\\.0\\.1:${config.port} max_fails`));
    }
  }
  assert.equal(seen.db.size, 1, 'one database');
  assert.equal(seen.bucket.size, 1, 'one bucket');
  assert.ok(services.nginx?.volumes?.includes('../nginx/recorder-fleet.conf:/etc/nginx/conf.d/recorder.conf:ro'));
  assert.ok(
    services.prometheus?.volumes?.includes('../prometheus/prometheus-fleet.yml:/etc/prometheus/prometheus.yml:ro'),
  );
});

test('promtool accepts the fleet scrape configuration, which scrapes every instance', async (t) => {
  const promtool = requireTool(t, 'promtool', 'prometheus');
  if (!promtool) return;
  const res = await run(promtool, ['check', 'config', ops('prometheus', 'prometheus-fleet.yml')]);
  assert.equal(res.code, 0, res.output);
  const prom = YAML.parse(read('prometheus', 'prometheus-fleet.yml')) as {
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  };
  const targets = (job: string) => prom.scrape_configs.find((j) => j.job_name === job)?.static_configs[0]?.targets;
  const example = envFile(read('recorder.env.example'));
  const config = (name: string) => parseConfig({ ...example, ...envOf(services[name]!) });
  assert.deepEqual(
    targets('recorder-api'),
    kinds.api.map((n) => `127.0.0.1:${config(n).port}`),
  );
  assert.deepEqual(
    targets('recorder-sfu'),
    kinds.sfu.map((n) => `127.0.0.1:${config(n).sfu.port}`),
  );
  assert.deepEqual(
    targets('recorder-jobs'),
    kinds.jobs.map((n) => `127.0.0.1:${config(n).jobs.metricsPort}`),
  );
});

test('nginx -t accepts the fleet front', async (t) => {
  const nginx = requireTool(t, 'nginx', 'nginx');
  if (!nginx || !requireTool(t, 'openssl', 'openssl')) return;
  const { cert, key } = await selfSignedCert(tmp, 'recorder.example.com');
  fs.mkdirSync(path.join(tmp, 'prefix', 'logs'), { recursive: true });
  const site = conf
    .replace('/etc/letsencrypt/live/recorder.example.com/fullchain.pem', cert)
    .replace('/etc/letsencrypt/live/recorder.example.com/privkey.pem', key);
  fs.writeFileSync(path.join(tmp, 'recorder.conf'), site);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((k) => `  ${k}_temp_path ${path.join(tmp, 'prefix', k)};\n`)
    .join('');
  const wrapper = path.join(tmp, 'nginx.conf');
  fs.writeFileSync(
    wrapper,
    `events {}\nhttp {\n  access_log off;\n${temp}  include ${path.join(tmp, 'recorder.conf')};\n}\n`,
  );
  const globals = `pid ${path.join(tmp, 'nginx.pid')}; error_log ${path.join(tmp, 'error.log')};`;
  const res = await run(nginx, ['-t', '-c', wrapper, '-p', path.join(tmp, 'prefix'), '-g', globals]);
  assert.equal(res.code, 0, res.output);
  assert.match(res.output, /test is successful/);
});
