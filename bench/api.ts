/**
 * `npm run bench:api`: what the proven tenant context costs a request.
 *
 * Starts the product (`node standalone/main.ts`, embedded Postgres in a temporary DATA_DIR,
 * SFU and jobs off) as a child process on loopback, signs in through the real code mail (the
 * outbox folder), creates an organisation with a few sessions, then drives three routes:
 *
 * - `GET /healthz`: the trivial route, one `select 1` transaction and no user;
 * - `GET /api/me`: the session proven in the database, the user's memberships;
 * - `GET /api/orgs/:id/sessions`: an org-scoped list (proof + membership + the query, RLS).
 *
 * Each runs flat out (a closed loop of `--connections` keep-alive connections for
 * `--seconds`) and at a fixed offered rate (`--rate` req/s, an open loop: latency counts from
 * the moment a request was due, so a stall is not hidden). Prints req/s and p50/p99 for each;
 * the last line reads `api: N req/s flat out, p99 X ms at R req/s, tenant context +Y%`, where
 * N and X are the org list's and Y is how much longer an org-list request takes than the
 * trivial one (trivial req/s over list req/s, flat out). The load generator shares the
 * machine with the server and Postgres, as in the issue's measurements. Each route's run is
 * cut into `--slices` slices (default 5) taken in turn with the other routes', so load from
 * elsewhere on a shared machine weighs on every route alike. On Linux each route also prints
 * its CPU time per request, split between the server process, its Postgres and the load
 * generator (from /proc): that split is steady under outside load, where req/s is not.
 */
import { freePort } from '../lib/freePort.ts';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rate: { type: 'string', default: '400' },
    connections: { type: 'string', default: '16' },
    slices: { type: 'string', default: '5' },
  },
});
const SECONDS = Number(args.seconds);
const RATE = Number(args.rate);
const CONNECTIONS = Number(args.connections);
/** Each route's run is cut into this many slices, taken in turn with the other routes' (see the loop below). */
const SLICES = Math.max(1, Number(args.slices));

interface Res {
  status: number;
  body: string;
  cookies: string[];
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
let base = '';
const jar = new Map<string, string>();

function request(method: string, p: string, body?: unknown): Promise<Res> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const csrf = jar.get('csrf_token');
    if (csrf) headers['x-csrf-token'] = csrf;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload) headers['content-type'] = 'application/json';
    const req = http.request(base + p, { method, headers, agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const cookies = res.headers['set-cookie'] ?? [];
        for (const c of cookies) {
          const [pair] = c.split(';');
          const eq = pair?.indexOf('=') ?? -1;
          if (pair && eq > 0) jar.set(pair.slice(0, eq), pair.slice(eq + 1));
        }
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8'), cookies });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A GET with the jar's cookies, for the load loops: resolves with the status. */
function hit(p: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(base + p, { method: 'GET', headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU µs per request by process group (server, postgres, load generator). */
  cpuPerRequest: Record<string, number>;
}

/** The raw outcome of one slice: summed over a route's slices, then summarised. */
interface Slice {
  latencies: number[];
  seconds: number;
  errors: number;
  /** CPU time (µs) spent in each process group during the slice; empty where /proc is missing. */
  cpu?: Record<string, number>;
}

function summarise(slices: Slice[]): Run {
  const latencies = slices.flatMap((x) => x.latencies).sort((a, b) => a - b);
  const seconds = slices.reduce((n, x) => n + x.seconds, 0);
  const errors = slices.reduce((n, x) => n + x.errors, 0);
  const cpuPerRequest: Record<string, number> = {};
  for (const x of slices)
    for (const [k, v] of Object.entries(x.cpu ?? {})) cpuPerRequest[k] = (cpuPerRequest[k] ?? 0) + v / latencies.length;
  return {
    rps: latencies.length / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    errors,
    cpuPerRequest,
  };
}

const TICK_US = 1e6 / 100; // USER_HZ: /proc reports CPU time in 1/100 s on Linux

/**
 * CPU time so far (µs) of the server process, its Postgres (the processes under it) and this
 * load generator, from /proc (Linux): where a request's cost goes. Empty elsewhere.
 */
function cpuTimes(): Record<string, number> {
  const out: Record<string, number> = {};
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  const procs = new Map<number, { parent: number; ticks: number }>();
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(pid), { parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // exited meanwhile
    }
  }
  const under = (pid: number): boolean => {
    for (let p = procs.get(pid)?.parent; p !== undefined && p > 1; p = procs.get(p)?.parent)
      if (p === child.pid) return true;
    return false;
  };
  for (const [pid, { ticks }] of procs) {
    const group =
      pid === process.pid ? 'load generator' : pid === child.pid ? 'server' : under(pid) ? 'postgres' : undefined;
    if (group) out[group] = (out[group] ?? 0) + ticks * TICK_US;
  }
  return out;
}

async function flatOut(p: string, headers: Record<string, string>, seconds = SECONDS): Promise<Slice> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const status = await hit(p, headers);
      if (status !== 200) errors++;
      else latencies.push(performance.now() - t0);
    }
  };
  const started = performance.now();
  const before = cpuTimes();
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const after = cpuTimes();
  const cpu = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
  return { latencies, seconds: (performance.now() - started) / 1000, errors, cpu };
}

async function fixedRate(p: string, headers: Record<string, string>, seconds = SECONDS): Promise<Slice> {
  const latencies: number[] = [];
  let errors = 0;
  const total = Math.round(RATE * seconds);
  const interval = 1000 / RATE;
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      hit(p, headers).then(
        (status) => {
          if (status !== 200) errors++;
          // From when it was due: a request the generator sent late counts its lateness.
          else latencies.push(performance.now() - due);
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(pending);
  return { latencies, seconds: (performance.now() - started) / 1000, errors };
}

const fmt = (r: Run) =>
  `${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms${r.errors ? `  (${r.errors} errors)` : ''}`;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-bench-api-'));
// Embedded Postgres runs as another user when this runs as root: it must reach DATA_DIR.
fs.chmodSync(dataDir, 0o711);
const [port, pgPort] = [await freePort(), await freePort()];
base = `http://127.0.0.1:${port}`;
const child = spawn(process.execPath, ['standalone/main.ts'], {
  env: {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: base,
    DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(pgPort),
    SFU: 'off',
    JOBS: 'off',
    LOG_LEVEL: 'warn',
    SERVER_SECRET: 'bench-api-server-secret-0123456789abcdef',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const stop = async () => {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  fs.rmSync(dataDir, { recursive: true, force: true });
};

try {
  for (let i = 0; ; i++) {
    const ok = await request('GET', '/healthz').then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (i > 600 || child.exitCode !== null) throw new Error('the product did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  // Sign in through the code mail in the outbox.
  const email = 'bench@example.com';
  if ((await request('POST', '/api/auth/code', { email })).status !== 202) throw new Error('code request failed');
  const outbox = path.join(dataDir, 'outbox');
  let code: string | undefined;
  for (let i = 0; i < 100 && !code; i++) {
    for (const f of fs.existsSync(outbox) ? fs.readdirSync(outbox) : []) {
      const text = fs.readFileSync(path.join(outbox, f), 'utf8').replace(/=\r?\n/g, '');
      code ??= /\b(\d{6})\b/.exec(text)?.[1];
    }
    if (!code) await new Promise((r) => setTimeout(r, 100));
  }
  if (!code) throw new Error('no code mail');
  const v = await request('POST', '/api/auth/verify', { email, code });
  if (v.status !== 200) throw new Error(`verify failed: ${v.status} ${v.body}`);
  await request('GET', '/api/me'); // sets the CSRF cookie
  const org = await request('POST', '/api/orgs', { name: 'Bench' });
  const orgId = (JSON.parse(org.body) as { id: string }).id;
  for (let i = 0; i < 10; i++) await request('POST', `/api/orgs/${orgId}/sessions`, { title: `Session ${i}` });

  const cookie = { cookie: [...jar].map(([k, val]) => `${k}=${val}`).join('; ') };
  const routes: [string, string, Record<string, string>][] = [
    ['trivial  GET /healthz (select 1)', '/healthz', {}],
    ['me       GET /api/me', '/api/me', cookie],
    ['org list GET /api/orgs/:id/sessions', `/api/orgs/${orgId}/sessions`, cookie],
  ];
  for (const [, p, headers] of routes) await flatOut(p, headers, 2); // warm-up: connections, plans, JIT
  // The routes take turns, slice by slice, so that a burst of load from elsewhere on a shared
  // machine falls on all of them alike instead of on whichever route ran at that moment.
  const slices = new Map<string, { flat: Slice[]; fixed: Slice[] }>(
    routes.map(([, p]) => [p, { flat: [], fixed: [] }]),
  );
  for (let i = 0; i < SLICES; i++)
    for (const [, p, headers] of routes) slices.get(p)?.flat.push(await flatOut(p, headers, SECONDS / SLICES));
  for (let i = 0; i < SLICES; i++)
    for (const [, p, headers] of routes) slices.get(p)?.fixed.push(await fixedRate(p, headers, SECONDS / SLICES));
  const results = new Map<string, { flat: Run; fixed: Run }>();
  for (const [label, p] of routes) {
    const s = slices.get(p);
    if (!s) continue;
    const flat = summarise(s.flat);
    const fixed = summarise(s.fixed);
    results.set(p, { flat, fixed });
    console.log(`${label.padEnd(38)} flat out: ${fmt(flat)}`);
    console.log(`${''.padEnd(38)} at ${RATE} req/s: ${fmt(fixed)}`);
    const split = Object.entries(flat.cpuPerRequest);
    if (split.length)
      console.log(`${''.padEnd(38)} CPU per request: ${split.map(([k, v]) => `${k} ${v.toFixed(0)} µs`).join(', ')}`);
  }
  const trivial = results.get('/healthz');
  const list = results.get(`/api/orgs/${orgId}/sessions`);
  if (!trivial || !list) throw new Error('missing results');
  const ratio = list.flat.rps / trivial.flat.rps;
  console.log(`org list / trivial, flat out: ${ratio.toFixed(2)}`);
  console.log(
    `api: ${list.flat.rps.toFixed(0)} req/s flat out, p99 ${list.fixed.p99.toFixed(1)} ms at ${RATE} req/s, tenant context +${((trivial.flat.rps / list.flat.rps - 1) * 100).toFixed(0)}%`,
  );
} finally {
  await stop();
}
