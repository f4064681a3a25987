/**
 * ops/nginx/recorder.conf checked by nginx itself (`nginx -t`), then run for real in front of
 * the real API and a stand-in SFU upstream: TLS with a throwaway certificate, HSTS, the HTTP
 * redirect, /metrics kept private, the request id set by the proxy, WebSocket on /sfu.
 *
 * The site file is an http{} include; the test wraps it in a minimal nginx.conf, points the
 * certificate paths at the generated pair and the ports at free ones (on a temp copy), and
 * passes pid/error_log/prefix on the command line so nothing under /etc or /var is touched.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestServer } from './helpers/server.ts';
import { requireTool, run, freePort, waitForPort, selfSignedCert } from './helpers/tools.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const site = fs.readFileSync(path.join(root, 'ops', 'nginx', 'recorder.conf'), 'utf8');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-nginx-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const HOST = 'recorder.example.com';

interface Staged {
  conf: string;
  args: string[];
}

/** Writes the wrapped config; `ports` given: listen on them on loopback instead of 80/443. */
async function stage(
  name: string,
  ports?: { http: number; https: number; api: number; sfu: number },
): Promise<Staged | undefined> {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, 'prefix', 'logs'), { recursive: true });
  const { cert, key } = await selfSignedCert(dir, HOST);
  let text = site
    .replace(`/etc/letsencrypt/live/${HOST}/fullchain.pem`, cert)
    .replace(`/etc/letsencrypt/live/${HOST}/privkey.pem`, key);
  assert.ok(text.includes(cert) && text.includes(key), 'certificate paths found in the site file');
  if (ports) {
    text = text
      .replace(/^\s*listen \[::\]:.*$/gm, '')
      .replace(/listen 80;/, `listen 127.0.0.1:${ports.http};`)
      .replace(/listen 443 ssl http2;/, `listen 127.0.0.1:${ports.https} ssl http2;`)
      .replace('server 127.0.0.1:3000;', `server 127.0.0.1:${ports.api};`)
      .replace('server 127.0.0.1:3001;', `server 127.0.0.1:${ports.sfu};`);
    for (const p of Object.values(ports)) assert.ok(text.includes(`:${p}`), 'ports substituted');
  }
  fs.writeFileSync(path.join(dir, 'recorder.conf'), text);
  const conf = path.join(dir, 'nginx.conf');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((k) => `  ${k}_temp_path ${path.join(dir, 'prefix', k)};\n`)
    .join('');
  fs.writeFileSync(
    conf,
    `events {}\nhttp {\n  access_log off;\n${temp}  include ${path.join(dir, 'recorder.conf')};\n}\n`,
  );
  const globals = `pid ${path.join(dir, 'nginx.pid')}; error_log ${path.join(dir, 'error.log')};`;
  return { conf, args: ['-c', conf, '-p', path.join(dir, 'prefix'), '-g', globals] };
}

test('nginx -t accepts the TLS front (and refuses a broken copy)', async (t) => {
  const nginx = requireTool(t, 'nginx', 'nginx');
  if (!nginx || !requireTool(t, 'openssl', 'openssl')) return;
  const staged = await stage('check');
  assert.ok(staged);
  const res = await run(nginx, ['-t', ...staged.args]);
  assert.equal(res.code, 0, res.output);
  assert.match(res.output, /test is successful/);
  fs.appendFileSync(
    path.join(path.dirname(staged.conf), 'recorder.conf'),
    '\nserver { listen 8; proxy_pass_header; }\n',
  );
  assert.notEqual((await run(nginx, ['-t', ...staged.args])).code, 0);
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

test('nginx in front of the real API: HSTS, redirect, private /metrics, proxy-set request id, WebSocket on /sfu', async (t) => {
  const nginx = requireTool(t, 'nginx', 'nginx');
  if (!nginx || !requireTool(t, 'openssl', 'openssl')) return;
  const ts = await startTestServer({ TRUST_PROXY: 'true', PUBLIC_URL: `https://${HOST}` });
  t.after(() => ts.close());
  // A stand-in SFU: answers the WebSocket handshake and echoes bytes back.
  const sfuSeen: http.IncomingHttpHeaders[] = [];
  const sfu = http.createServer((_req, res) => res.writeHead(426).end());
  sfu.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
    sfuSeen.push(req.headers);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
  });
  await new Promise<void>((r) => sfu.listen(0, '127.0.0.1', r));
  t.after(() => sfu.close());
  const ports = {
    http: await freePort(),
    https: await freePort(),
    api: Number(new URL(ts.url).port),
    sfu: (sfu.address() as { port: number }).port,
  };
  const staged = await stage('live', ports);
  assert.ok(staged);
  const child = spawn(
    nginx,
    [...staged.args.slice(0, -1), `${staged.args.at(-1) ?? ''} daemon off; master_process off;`],
    { stdio: 'ignore' },
  );
  t.after(() => child.kill('SIGTERM'));
  await waitForPort(ports.https, 10_000, child);
  const ca = fs.readFileSync(path.join(path.dirname(staged.conf), 'cert.pem'));

  const get = (p: string, headers: Record<string, string> = {}, port = ports.https): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const mod = port === ports.https ? https : http;
      const req = mod.request(
        { host: '127.0.0.1', port, path: p, servername: HOST, ca, headers: { host: HOST, ...headers } },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });

  // TLS verifies against the certificate for the configured name; the API answers through it.
  const health = await get('/healthz', { 'x-request-id': 'client-chosen-id-12345' });
  assert.equal(health.status, 200, health.body);
  assert.deepEqual(JSON.parse(health.body), { status: 'ok' });
  assert.equal(
    health.headers['strict-transport-security'],
    'max-age=63072000; includeSubDomains',
    'one HSTS header, from the front',
  );
  // The id the API used (and logged) is nginx's, not the one the client sent.
  const rid = health.headers['x-request-id'];
  assert.match(String(rid), /^[0-9a-f]{32}$/);
  assert.ok(
    ts.logs.some((l) => l.includes(`"request_id":"${String(rid)}"`) && l.includes('"route":"/healthz"')),
    'the request log carries the proxy-set id',
  );

  // Errors carry HSTS too ("always"), and /metrics is not served to the internet.
  const metrics = await get('/metrics');
  assert.equal(metrics.status, 404);
  assert.ok(metrics.headers['strict-transport-security']);
  assert.equal((await fetch(`${ts.url}/metrics`)).status, 200, 'Prometheus still scrapes it directly');

  const plain = await get('/orgs?x=1', {}, ports.http);
  assert.equal(plain.status, 301);
  assert.equal(plain.headers.location, `https://${HOST}/orgs?x=1`);

  // Pages work through the front, with Secure cookies.
  const page = await get('/signin');
  assert.equal(page.status, 200);
  assert.match(String(page.headers['set-cookie']), /secure/i);

  // WebSocket upgrade on /sfu reaches the SFU upstream and carries data both ways.
  const echoed = await new Promise<string>((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port: ports.https,
      path: '/sfu?room=1',
      servername: HOST,
      ca,
      headers: {
        host: HOST,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.on('upgrade', (res, socket) => {
      assert.equal(res.statusCode, 101);
      socket.once('data', (d: Buffer) => {
        resolve(d.toString());
        socket.destroy();
      });
      socket.write('ping');
    });
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode ?? 0}`)));
    req.on('error', reject);
    req.end();
  });
  assert.equal(echoed, 'echo:ping');
  assert.equal(sfuSeen[0]?.upgrade, 'websocket');
  assert.match(String(sfuSeen[0]?.['x-request-id']), /^[0-9a-f]{32}$/);
  assert.equal(sfuSeen[0]?.['x-forwarded-proto'], 'https');
});
