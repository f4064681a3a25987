/**
 * Graceful shutdown of the real API process (`node server/main.ts`, as systemd and compose
 * run it): on SIGTERM it refuses new connections, lets the request in flight finish with a
 * real response, delivers the mail that request queued, and exits 0.
 *
 * The request in flight is a real one held open by the client: a sign-in code request whose
 * body is sent half before SIGTERM and half after. The SMTP server answers slowly, so mail
 * still being delivered when the request ends would be cut off by an early exit.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';
import { freshDatabase } from './helpers/db.ts';
import { TEST_SECRET } from './helpers/constants.ts';
import { freePort, eventually } from './helpers/tools.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-shutdown-'));
after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

/** An SMTP server that takes `delayMs` to accept each message; records recipients. */
async function slowSmtp(delayMs: number): Promise<{ url: string; delivered: string[]; close(): Promise<void> }> {
  const delivered: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      stream.resume();
      stream.on('end', () => {
        setTimeout(() => {
          for (const r of session.envelope.rcptTo) delivered.push(r.address);
          callback();
        }, delayMs);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as net.AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    delivered,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const connectError = (port: number) =>
  new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });

test('SIGTERM: new connections refused, the request in flight answered, its mail delivered, exit 0', async (t) => {
  const db = await freshDatabase();
  t.after(() => db.drop());
  const smtp = await slowSmtp(1500);
  t.after(() => smtp.close());
  const port = await freePort();
  const child = spawn(process.execPath, ['server/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      DATABASE_URL: db.ownerUrl,
      SERVER_SECRET: TEST_SECRET,
      SMTP_URL: smtp.url,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const logged = (msg: string) =>
    eventually(`log line "${msg}"`, () => Promise.resolve(lines.find((l) => l.includes(`"msg":"${msg}"`))), 30_000);
  await logged('listening');

  // An idle keep-alive connection must not hold shutdown up.
  const agent = new http.Agent({ keepAlive: true });
  // Closed by the server when shutdown begins; that is the point, not an error.
  agent.on('free', (so: net.Socket) => so.on('error', () => undefined));
  const health = await new Promise<number>((resolve, reject) =>
    http
      .get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) =>
        res.resume().on('end', () => resolve(res.statusCode ?? 0)),
      )
      .on('error', reject),
  );
  assert.equal(health, 200);

  // The request in flight: headers and half the body now, the rest after SIGTERM.
  const email = 'in-flight@example.com';
  const body = JSON.stringify({ email });
  const half = Math.floor(body.length / 2);
  const sock = net.connect(port, '127.0.0.1');
  let response = '';
  sock.on('data', (d: Buffer) => (response += d.toString()));
  // The server may reset the socket once the process exits; the response is what counts.
  sock.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  sock.write(
    `POST /api/auth/code HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, half)}`,
  );
  await new Promise((r) => setTimeout(r, 300));

  const signalled = Date.now();
  child.kill('SIGTERM');
  await logged('shutting down');
  assert.equal(await connectError(port), 'ECONNREFUSED', 'a new connection is refused once shutdown began');
  assert.equal(child.exitCode, null, 'still running while a request is in flight');

  sock.write(body.slice(half));
  await eventually(
    'the response',
    () => Promise.resolve(response.includes('\r\n\r\n') && response.includes('}') ? response : undefined),
    10_000,
  );
  assert.match(response, /^HTTP\/1\.1 202 /, response);
  assert.match(response, /"ok":true/);
  sock.end();
  await closed;

  const exit = await exited;
  agent.destroy();
  assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, stderr);
  assert.ok(exit.at - signalled < 15_000, `exited ${exit.at - signalled} ms after SIGTERM`);
  assert.deepEqual(smtp.delivered, [email], 'the code email queued by the finished request was delivered before exit');
  const requestLine = lines.find((l) => l.includes('"route":"/api/auth/code"'));
  assert.ok(requestLine?.includes('"status":202'), 'the finished request was logged');
});
