/**
 * Starts the real product for a test file: its own database, a real SMTP server on
 * loopback, a temporary DATA_DIR, an adjustable clock and captured log lines.
 */
import fs from 'node:fs';
import pg from 'pg';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../server/core/config.ts';
import { start, type Running } from '../../standalone/start.ts';
import { logSink, configureLogger } from '../../server/core/logger.ts';
import type { Clock } from '../../server/core/context.ts';
import { freshDatabase, type TestDatabase } from './db.ts';
import { startSmtp, type Inbox } from './smtp.ts';
import { TEST_SECRET } from './constants.ts';
import { HttpClient } from './http.ts';
import { setTransactionBarrier } from '../../server/core/db/pool.ts';
import { NodeRegistry } from '../../sfu/fleet/NodeRegistry.ts';

/**
 * A clock tests move forward by hand. The database's clock (app.now(), which the sign-in,
 * session and lifecycle functions read) moves with it: each move is written to the
 * owner-only app.clock_offset, and every transaction waits for that write first.
 */
export class TestClock implements Clock {
  offsetMs = 0;
  #owner: pg.Client | undefined;
  #pending: Promise<unknown> = Promise.resolve();
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
    const owner = this.#owner;
    const offsetS = this.offsetMs / 1000;
    if (owner)
      this.#pending = this.#pending.then(() =>
        owner.query('update app.clock_offset set offset_s = $1 where id', [offsetS]),
      );
  }
  /** Connects the database's clock to this one (owner connection). */
  attach(owner: pg.Client): void {
    this.#owner = owner;
  }
  /** Resolves when the database's clock has caught up with the last move. */
  settled(): Promise<unknown> {
    return this.#pending;
  }
}

export interface TestServer {
  url: string;
  running: Running;
  db: TestDatabase;
  inbox: Inbox;
  clock: TestClock;
  dataDir: string;
  logs: string[];
  client(): HttpClient;
  /** Signs a new client in as `email` through the real code email. */
  signIn(email: string): Promise<HttpClient>;
  /**
   * Registers one SFU fleet node (the real registry: liveness lock and heartbeat, no media)
   * so that joins are placed and get tokens, for tests of the API without a media server.
   * Once per server; closed with it.
   */
  fleetNode(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The environment of a child process (an SFU node, the jobs worker, a CLI) that works on
 * `ts`'s database, storage and secrets, plus `extra`; of this process's own environment
 * only PATH is passed on.
 */
export function childEnv(
  ts: Pick<TestServer, 'db' | 'dataDir'>,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    DATABASE_URL: ts.db.ownerUrl,
    DATA_DIR: ts.dataDir,
    SERVER_SECRET: TEST_SECRET,
    ...extra,
  };
}

const logs: string[] = [];
let captured = false;

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  if (!captured) {
    captured = true;
    logSink.write = (line) => {
      logs.push(line);
    };
  }
  const db = await freshDatabase();
  const inbox = await startSmtp();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-test-'));
  const config = parseConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: dataDir,
    DATABASE_URL: db.ownerUrl,
    SMTP_URL: inbox.url,
    SERVER_SECRET: TEST_SECRET,
    LOG_LEVEL: 'info',
    RATE_LIMIT_CODES_PER_CLIENT: '1000',
    RATE_LIMIT_VERIFY_PER_CLIENT: '1000',
    // The SFU runs only where a test asks for it (SFU=auto + random RTC ports).
    SFU: 'off',
    SFU_RTC_PORT: '0',
    SFU_WORKERS: '1',
    ...env,
  });
  configureLogger(config.logLevel, 'json');
  const clock = new TestClock();
  const clockDb = new pg.Client({ connectionString: db.ownerUrl });
  await clockDb.connect();
  clock.attach(clockDb);
  setTransactionBarrier(async () => {
    await clock.settled();
  });
  const running = await start(config, { clock });
  let node: Promise<NodeRegistry> | undefined;
  const ts: TestServer = {
    url: running.url,
    running,
    db,
    inbox,
    clock,
    dataDir,
    logs,
    client: () => new HttpClient(running.url),
    async signIn(email) {
      const c = new HttpClient(running.url);
      const since = inbox.messages.length;
      const res = await c.post('/api/auth/code', { email });
      if (res.status !== 202) throw new Error(`code request failed: ${res.status}`);
      // The code mail, not another notice to the same address that may arrive meanwhile.
      const mail = await inbox.waitFor(email, { since, subject: /sign-in code/ });
      const code = /\b(\d{6})\b/.exec(mail.text ?? '')?.[1];
      if (!code) throw new Error('no code in the email');
      const v = await c.post('/api/auth/verify', { email, code });
      if (v.status !== 200) throw new Error(`verify failed: ${v.status} ${JSON.stringify(v.body)}`);
      return c;
    },
    async fleetNode() {
      node ??= NodeRegistry.start(running.deps.db.sfu, {
        nodeId: 'test-node',
        signalUrl: null,
        mediaAddress: null,
        capacityTracks: 1000,
        reserveTracks: 2,
        goneAfterS: 60,
        graceS: 120,
        live: () => [],
      }).then((r) => r.registry);
      await node;
    },
    async close() {
      if (node) await (await node.catch(() => undefined))?.close();
      await running.close();
      setTransactionBarrier(undefined);
      await clockDb.end();
      await inbox.close();
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return ts;
}
