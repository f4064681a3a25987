// Embedded mode: every role's password (the superuser's, the API's and the duty roles') is
// random, made once in its own owner-only file under DATA_DIR/secrets, and nothing derives
// one from another or from SERVER_SECRET (issue 10, finding 1: the API role's password used
// to reveal the superuser's, and it came from SERVER_SECRET).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { SUPERUSER_PASSWORD_FILE } from '../server/core/db/embedded.ts';
import { derivedAppUrl } from '../server/core/db/migrate.ts';
import { EMBEDDED_LOGIN_ROLES, rolePasswordFile } from '../server/core/db/roleSecrets.ts';
import { Secrets } from '../server/core/crypto/secrets.ts';
import { parseConfig } from '../server/core/config.ts';
import { openDeps } from '../server/core/deps.ts';
import { freePort } from './helpers/tools.ts';

const ROLES = ['postgres', ...EMBEDDED_LOGIN_ROLES] as const;

function readPasswords(dataDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const role of ROLES) out[role] = fs.readFileSync(path.join(dataDir, 'secrets', rolePasswordFile(role)), 'utf8');
  return out;
}

/** Whether `user` logs in with `password` (and whether it is then a superuser). */
async function login(port: number, user: string, password: string): Promise<{ ok: boolean; superuser?: boolean }> {
  const c = new pg.Client({ host: '127.0.0.1', port, database: 'recorder', user, password });
  try {
    await c.connect();
  } catch {
    return { ok: false };
  }
  try {
    const r = await c.query<{ rolsuper: boolean }>('select rolsuper from pg_roles where rolname = current_user');
    return { ok: true, superuser: r.rows[0]?.rolsuper };
  } finally {
    await c.end();
  }
}

/** Every way one password could be made from another that this product ever used, or a plain one. */
function derivations(s: string): string[] {
  const raw = [Buffer.from(s, 'hex'), Buffer.from(s, 'base64url'), Buffer.from(s, 'utf8')];
  const out = [s];
  for (const b of raw) {
    out.push(b.toString('hex'), b.toString('base64url'), b.subarray(0, 16).toString('hex'));
    out.push(createHash('sha256').update(b).digest('hex'), createHash('sha256').update(b).digest('base64url'));
  }
  return out.filter((x) => x.length >= 16);
}

test('embedded: each role has its own random password in an owner-only file, reused on restart and independent of SERVER_SECRET', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-embedded-'));
  fs.chmodSync(dataDir, 0o711);
  const port = await freePort();
  const env = (secret: string) =>
    parseConfig({ DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(port), SERVER_SECRET: secret, NODE_ENV: 'test' });
  const secretA = 'embedded-secrets-test-secret-0123456789abcdef';
  const secretB = 'embedded-secrets-test-secret-fedcba9876543210';
  try {
    // First start: every file made, 0600 in a 0700 folder; the pools log in with them.
    let opened = await openDeps(env(secretA), { embedded: 'start', migrate: true, poolSize: 2 });
    let first: Record<string, string>;
    try {
      const dir = path.join(dataDir, 'secrets');
      assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
      assert.equal(rolePasswordFile('postgres'), SUPERUSER_PASSWORD_FILE);
      for (const role of ROLES) {
        const file = path.join(dir, rolePasswordFile(role));
        assert.equal(fs.statSync(file).mode & 0o777, 0o600, file);
      }
      first = readPasswords(dataDir);
      for (const role of ROLES) assert.match(first[role] ?? '', /^[0-9a-f]{64}$/, role);
      const { db } = opened.deps;
      assert.equal(decodeURIComponent(new URL(db.urls.app).password), first.recorder_api);
      for (const [pool, role] of [
        [db.app, 'recorder_api'],
        [db.sfu, 'recorder_sfu'],
        [db.jobs, 'recorder_jobs'],
        [db.sweep, 'recorder_sweep'],
      ] as const) {
        const r = await pool.query<{ u: string }>('select session_user::text as u');
        assert.equal(r.rows[0]?.u, role);
      }
      // No copy of a duty password is kept in the database.
      const kept = await db.owner.query('select role from app.role_passwords');
      assert.equal(kept.rowCount, 0);
    } finally {
      await opened.close();
    }

    // Independent: no password equals, contains or is a derivation of another, nor of SERVER_SECRET's keys.
    const secrets = Secrets.load(secretA, dataDir);
    const fromSecret = [
      new URL(derivedAppUrl('postgres://x@127.0.0.1/recorder', secrets)).password,
      secrets.key('db-app-password').toString('hex'),
    ];
    for (const a of ROLES) {
      const pa = first[a] ?? '';
      for (const d of fromSecret.flatMap(derivations))
        assert.ok(!pa.includes(d) && !d.includes(pa), `${a} from SERVER_SECRET`);
      for (const b of ROLES) {
        if (a === b) continue;
        const pb = first[b] ?? '';
        for (const d of derivations(pb)) assert.ok(!pa.includes(d) && !d.includes(pa), `${a} from ${b}`);
      }
    }

    // Restart with another SERVER_SECRET: the same files, the same passwords, still the ones that log in.
    opened = await openDeps(env(secretB), { embedded: 'start', migrate: true, poolSize: 2 });
    try {
      assert.deepEqual(readPasswords(dataDir), first);
      const r = await opened.deps.db.sweep.query<{ u: string }>('select session_user::text as u');
      assert.equal(r.rows[0]?.u, 'recorder_sweep');
      for (const role of ROLES) assert.equal((await login(port, role, first[role] ?? '')).ok, true, role);
      assert.equal((await login(port, 'postgres', first.postgres ?? '')).superuser, true);
      // The API role's password opens nothing but the API role: not the superuser, not a duty role.
      for (const role of ['postgres', 'recorder_sfu', 'recorder_jobs', 'recorder_sweep']) {
        for (const guess of derivations(first.recorder_api ?? ''))
          assert.equal((await login(port, role, guess)).ok, false, `${role} opened with a form of the API password`);
      }
      assert.equal((await login(port, 'recorder_api', first.recorder_api ?? '')).superuser, false);
    } finally {
      await opened.close();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('embedded: a data folder whose API and duty passwords came from elsewhere switches to the files on its next start', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-embedded-'));
  fs.chmodSync(dataDir, 0o711);
  const port = await freePort();
  const config = parseConfig({
    DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(port),
    SERVER_SECRET: 'embedded-secrets-test-secret-0123456789abcdef',
    NODE_ENV: 'test',
  });
  const secrets = Secrets.load(config.serverSecret, dataDir);
  try {
    let opened = await openDeps(config, { embedded: 'start', migrate: true, poolSize: 2 });
    const legacy = new URL(derivedAppUrl(opened.deps.db.urls.owner, secrets)).password;
    try {
      // As an older version left it: the API role's password derived from SERVER_SECRET, a duty role's in the table.
      await opened.deps.db.owner.query(`alter role recorder_api password '${legacy}'`);
      await opened.deps.db.owner.query(
        `insert into app.role_passwords (role, password)
         values ('recorder_sweep', 'old') on conflict (role) do update set password = 'old'`,
      );
    } finally {
      await opened.close();
    }
    opened = await openDeps(config, { embedded: 'start', migrate: true, poolSize: 2 });
    try {
      const pw = readPasswords(dataDir);
      assert.equal((await login(port, 'recorder_api', legacy)).ok, false);
      assert.equal((await login(port, 'recorder_api', pw.recorder_api ?? '')).ok, true);
      const r = await opened.deps.db.app.query<{ u: string }>('select session_user::text as u');
      assert.equal(r.rows[0]?.u, 'recorder_api');
      assert.equal((await opened.deps.db.owner.query('select 1 from app.role_passwords')).rowCount, 0);
    } finally {
      await opened.close();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
