// Embedded mode: the superuser's password is random and kept in DATA_DIR/secrets with
// owner-only permissions; the API role's password reveals nothing of it (issue 10, finding 1:
// it used to be the first half of the same derived key).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, SUPERUSER_PASSWORD_FILE } from '../server/core/db/embedded.ts';
import { derivedAppUrl } from '../server/core/db/migrate.ts';
import { Secrets } from '../server/core/crypto/secrets.ts';
import { freePort } from './helpers/tools.ts';

test('the embedded superuser password is random, owner-only, and not derivable from the API role', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-embedded-'));
  fs.chmodSync(dataDir, 0o711);
  const secrets = Secrets.load('embedded-secrets-test-secret-0123456789abcdef', dataDir);
  const db = await startEmbeddedPostgres(dataDir, await freePort(), secrets);
  try {
    const file = path.join(dataDir, 'secrets', SUPERUSER_PASSWORD_FILE);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
    const password = fs.readFileSync(file, 'utf8').trim();
    assert.match(password, /^[0-9a-f]{64}$/);
    assert.equal(decodeURIComponent(new URL(db.url).password), password);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const me = await c.query<{ rolsuper: boolean }>('select rolsuper from pg_roles where rolname = current_user');
    await c.end();
    assert.equal(me.rows[0]?.rolsuper, true);
    // What the API role's password gives an attacker: nothing of the superuser's.
    const apiPassword = new URL(derivedAppUrl(db.url, secrets)).password;
    const asKey = Buffer.from(apiPassword, 'base64url');
    assert.notEqual(asKey.subarray(0, 16).toString('hex'), password.slice(0, 32));
    assert.ok(!password.includes(asKey.subarray(0, 16).toString('hex')));
  } finally {
    await db.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
