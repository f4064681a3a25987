// Private mode, server side (issue #14): a recorded session of a private-mode org is, once
// it ended and its transcript was stored, re-wrapped to the org public key; after that no
// secret the server holds (the KEK, KMS access, the database owner) opens any chunk or the
// transcript, every server-side reader answers 409 private_session, and only the key holder's
// passphrase (through the same WebCrypto code the browser runs) opens them again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { missingMediaTools } from './helpers/media.ts';
import { prerequisites } from './helpers/tools.ts';
import type { HttpClient } from './helpers/http.ts';
import { assertError } from './helpers/api.ts';
import {
  anyKeyOpens,
  asOwner,
  everyRemainingKey,
  seedRecordedSession,
  type SeededSession,
} from './helpers/recording.ts';
import { enablePrivateMode, getBytes } from './helpers/private.ts';
import { sealPrivateSessions } from '../server/services/privateMode.ts';
import { runLifecycleSweep } from '../server/jobs/sweep.ts';
import {
  blobAadBytes,
  chunkAadBytes,
  importDataKey,
  openSealed,
  PrivateCryptoError,
  unwrapOrgPrivateKey,
  unwrapSessionKey,
  wrapOrgPrivateKey,
  generateOrgKeyPair,
  grantOrgKey,
  keyFingerprint,
  openOrgKeyGrant,
  fromB64,
  toB64,
  type PrivateSessionKey,
  type WrappedOrgKey,
} from '../lib/private/crypto.ts';
import { openChunk } from '../lib/chunks/seal.ts';

const ready = prerequisites('private mode tests', [...missingMediaTools()]);
const PASSPHRASE = 'correct horse battery staple';
/** The owner's passphrase now (a test below changes it). */
let ownerPassphrase = PASSPHRASE;

let ts: TestServer;
let owner: HttpClient;
let orgId: string;
let seeded: SeededSession;
/** Each track's download from the server before sealing (plain mode). */
const plainDownloads = new Map<string, Buffer>();
/** Every chunk's plaintext, opened with the server's key before sealing. */
const plainChunks = new Map<string, Buffer>();
/** The session's data key, as the server held it before sealing. */
let rawSessionKey: Buffer | undefined;

const base = () => `/api/orgs/${orgId}/sessions/${seeded.sessionId}`;

before(async () => {
  if (!ready) return;
  // The test seals by hand (the sweep's step), so the job worker's sealing tick is off.
  ts = await startTestServer({ PRIVATE_SEAL_INTERVAL_S: '0' });
  owner = await ts.signIn('private-owner@example.com');
  orgId = ((await owner.post('/api/orgs', { name: 'Private' })).body as { id: string }).id;
  const on = await enablePrivateMode(owner, orgId, PASSPHRASE);
  assert.equal(on.status, 201, on.text);
  seeded = await seedRecordedSession(ts, orgId, { owner, speakers: ['Ada', 'Ben'], transcript: true });
  for (const t of seeded.tracks) {
    const d = await getBytes(owner, `${base()}/tracks/${t.trackId}/download`);
    assert.equal(d.status, 200);
    plainDownloads.set(t.trackId, d.body);
  }
  const keys = await everyRemainingKey(ts);
  const key = keys.get(seeded.sessionId);
  assert.ok(key, 'before sealing the server holds the session key');
  rawSessionKey = Buffer.from(key);
  for (const c of seeded.chunks) {
    const sealed = await ts.running.deps.storage.objectStore.get(c.objectKey);
    plainChunks.set(
      `${c.trackId}/${c.seq}`,
      openChunk(key, { organizationId: orgId, sessionId: seeded.sessionId, trackId: c.trackId, seq: c.seq }, sealed),
    );
  }
});
after(async () => {
  await ts?.close();
});

test(
  'the sweep re-wraps the ended session to the org key and erases the KMS-wrapped copy',
  { skip: !ready },
  async () => {
    // The lifecycle sweep's step (what runs hourly); then nothing is left to seal.
    assert.equal((await runLifecycleSweep(ts.running.deps)).private_sealed, 1);
    assert.equal(await sealPrivateSessions(ts.running.deps), 0, 'sealing twice does nothing');
    const row = await asOwner(ts, async (c) => {
      const r = await c.query<{
        wrapped_key: unknown;
        private_wrapped_key: { alg: string };
        key_erased_at: Date | null;
      }>('select wrapped_key, private_wrapped_key, key_erased_at from recording_sessions where id = $1', [
        seeded.sessionId,
      ]);
      return r.rows[0];
    });
    assert.equal(row?.wrapped_key, null, 'the KMS-wrapped key is gone');
    assert.equal(row?.private_wrapped_key.alg, 'ecies-p256-hkdf-sha256-a256gcm');
    assert.equal(row?.key_erased_at, null, 'the recording is not deleted');
    const detail = await owner.get<{ private_sealed_at: string | null }>(base());
    assert.ok(detail.body.private_sealed_at, 'the session says it is sealed');
  },
);

test('no secret the server holds opens a chunk or the transcript any more', { skip: !ready }, async () => {
  // The database owner's view: every wrapped key left, unwrapped with the KEK/KMS.
  const keys = await everyRemainingKey(ts);
  assert.equal(keys.has(seeded.sessionId), false);
  const store = ts.running.deps.storage.objectStore;
  const s = { orgId, sessionId: seeded.sessionId };
  assert.ok(seeded.chunks.length > 2);
  for (const c of seeded.chunks)
    assert.equal(anyKeyOpens(keys.values(), s, await store.get(c.objectKey), c), false, `chunk ${c.seq} stays shut`);
  const tr = seeded.transcript;
  assert.ok(tr);
  assert.equal(anyKeyOpens(keys.values(), s, await store.get(tr.objectKey), { runId: tr.runId }), false);
  // The stored re-wrapped key is no KMS record: the key provider refuses it.
  const privateKey = await asOwner(
    ts,
    async (c) =>
      (await c.query('select private_wrapped_key as k from recording_sessions where id = $1', [seeded.sessionId]))
        .rows[0],
  );
  await assert.rejects(
    ts.running.deps.storage.keyProvider.decrypt(privateKey?.k, { organizationId: orgId, sessionId: seeded.sessionId }),
  );
  // Every row of every table, as the database owner reads it: the data key is nowhere.
  assert.ok(rawSessionKey);
  const forms = [rawSessionKey.toString('base64'), rawSessionKey.toString('hex'), rawSessionKey.toString('base64url')];
  const found = await asOwner(ts, async (c) => {
    const tables = (
      await c.query<{ t: string }>(
        `select quote_ident(table_schema) || '.' || quote_ident(table_name) as t from information_schema.tables
          where table_schema in ('public', 'app') and table_type = 'BASE TABLE'`,
      )
    ).rows;
    const hits: string[] = [];
    for (const { t } of tables) {
      const rows = (await c.query<{ r: string }>(`select row_to_json(x)::text as r from ${t} x`)).rows;
      if (rows.some((r) => forms.some((f) => r.r.includes(f)))) hits.push(t);
    }
    return { hits, tables: tables.length };
  });
  assert.ok(found.tables > 10);
  assert.deepEqual(found.hits, [], 'no table holds the data key in the clear');
});

test('every server-side reader answers 409 private_session', { skip: !ready }, async () => {
  const track = seeded.tracks[0];
  assert.ok(track);
  assertError(await owner.get(`${base()}/tracks/${track.trackId}/download`), 409, 'private_session');
  assertError(await owner.get(`${base()}/archive`), 409, 'private_session');
  assertError(await owner.get(`${base()}/transcript/export?format=txt`), 409, 'private_session');
  assertError(await owner.post(`${base()}/transcript/rerun`), 409, 'private_session');
  const view = await owner.get<{ private: boolean; transcript: unknown }>(`${base()}/transcript`);
  assert.equal(view.status, 200);
  assert.equal(view.body.private, true);
  assert.equal(view.body.transcript, null);
});

test(
  'the key holder passphrase opens every chunk and the transcript, as the browser does',
  { skip: !ready },
  async () => {
    const mode = await owner.get<{ my_wrapped_key: WrappedOrgKey; enabled: boolean }>(
      `/api/orgs/${orgId}/private-mode`,
    );
    assert.equal(mode.body.enabled, true);
    const orgKey = await unwrapOrgPrivateKey(mode.body.my_wrapped_key, PASSPHRASE, orgId);
    const bundle = await owner.get<{
      private_wrapped_key: PrivateSessionKey;
      tracks: { id: string; chunks: { seq: number }[] }[];
      transcript: { run_id: string } | null;
    }>(`${base()}/private`);
    assert.equal(bundle.status, 200);
    const raw = await unwrapSessionKey(bundle.body.private_wrapped_key, orgKey, orgId, seeded.sessionId);
    const key = await importDataKey(new Uint8Array(raw));
    let opened = 0;
    for (const t of bundle.body.tracks) {
      // Chunks come framed in ranges: u32 seq, u32 length, sealed bytes.
      const range = await getBytes(owner, `${base()}/private/tracks/${t.id}/chunks?from=0&count=64`);
      assert.equal(range.status, 200);
      let o = 0;
      for (const c of t.chunks) {
        assert.equal(range.body.readUInt32BE(o), c.seq);
        const len = range.body.readUInt32BE(o + 4);
        const sealed = new Uint8Array(range.body.subarray(o + 8, o + 8 + len));
        o += 8 + len;
        const plain = await openSealed(key, chunkAadBytes(orgId, seeded.sessionId, t.id, c.seq), sealed);
        assert.deepEqual(Buffer.from(plain), plainChunks.get(`${t.id}/${c.seq}`));
        opened++;
      }
      assert.equal(o, range.body.length, "the range holds exactly the track's chunks");
    }
    assert.equal(opened, seeded.chunks.length);
    const runId = bundle.body.transcript?.run_id;
    assert.ok(runId);
    const sealedDoc = await getBytes(owner, `${base()}/private/transcripts/${runId}`);
    const doc = JSON.parse(
      new TextDecoder().decode(
        await openSealed(
          key,
          blobAadBytes(orgId, seeded.sessionId, 'transcript', runId),
          new Uint8Array(sealedDoc.body),
        ),
      ),
    ) as { segments: { text: string }[] };
    assert.match(doc.segments[0]?.text ?? '', /ill disposed young man/);
  },
);

test('a wrong passphrase fails with a clear message and opens nothing', { skip: !ready }, async () => {
  const mode = await owner.get<{ my_wrapped_key: WrappedOrgKey }>(`/api/orgs/${orgId}/private-mode`);
  await assert.rejects(unwrapOrgPrivateKey(mode.body.my_wrapped_key, 'correct horse battery stapler', orgId), (err) => {
    assert.ok(err instanceof PrivateCryptoError);
    assert.equal(err.code, 'wrong_passphrase');
    assert.match(err.message, /passphrase does not open/);
    return true;
  });
});

test('passphrase change, holders and turning on are owner/admin acts, audited', { skip: !ready }, async () => {
  const mode = await owner.get<{ my_wrapped_key: WrappedOrgKey }>(`/api/orgs/${orgId}/private-mode`);
  const orgKey = await unwrapOrgPrivateKey(mode.body.my_wrapped_key, PASSPHRASE, orgId);
  const next = await wrapOrgPrivateKey(orgKey, 'a new passphrase for the owner', orgId);
  const changed = await owner.request('PUT', `/api/orgs/${orgId}/private-mode/holders/me`, {
    wrapped_private_key: next,
  });
  assert.equal(changed.status, 200, changed.text);
  ownerPassphrase = 'a new passphrase for the owner';
  const self = (await owner.get<{ holders: { user_id: string }[] }>(`/api/orgs/${orgId}/private-mode`)).body.holders;
  assert.equal(self.length, 1);
  assertError(
    await owner.delete(`/api/orgs/${orgId}/private-mode/holders/${self[0]?.user_id ?? ''}`),
    409,
    'last_key_holder',
  );
  assertError(await enablePrivateMode(owner, orgId, 'again'), 409, 'private_mode_enabled');
  const audit = await owner.get<{ entries: { action: string; details: Record<string, unknown> }[] }>(
    `/api/orgs/${orgId}/audit`,
  );
  const actions = audit.body.entries.map((e) => e.action);
  for (const a of ['private_mode.enabled', 'private_mode.session_sealed', 'private_mode.passphrase_changed'])
    assert.ok(actions.includes(a), `${a} is in the audit log (${actions.join(', ')})`);
  assert.ok(!JSON.stringify(audit.body).includes(next.ciphertext), 'the audit log holds no key material');
});

test('malformed bodies are 400s with a stable code; other tenants see nothing', { skip: !ready }, async () => {
  const other = await ts.signIn('private-other@example.com');
  const otherOrg = ((await other.post('/api/orgs', { name: 'Other' })).body as { id: string }).id;
  const bad = await other.post(`/api/orgs/${otherOrg}/private-mode`, { public_key: 'nope', wrapped_private_key: {} });
  assert.equal(bad.status, 400);
  assert.equal((bad.body as { error: { code: string } }).error.code, 'invalid_input');
  const weak = await other.post(`/api/orgs/${otherOrg}/private-mode`, {
    public_key: Buffer.alloc(91).toString('base64'),
    wrapped_private_key: {
      v: 1,
      kdf: 'pbkdf2-sha256',
      iterations: 1000,
      salt: 'AAAAAAAAAAAAAAAAAAAAAA==',
      nonce: 'AAAAAAAAAAAAAAAA',
      ciphertext: Buffer.alloc(100).toString('base64'),
    },
  });
  assert.equal(weak.status, 400, 'fewer than 100,000 iterations are refused');
  const tooMany = await owner.get(`${base()}/private/tracks/${seeded.tracks[0]?.trackId}/chunks?from=0&count=65`);
  assertError(tooMany, 400, 'invalid_input');
  const track = seeded.tracks[0];
  assert.ok(track);
  // Another org's owner, through their own org and through ours.
  for (const org of [otherOrg, orgId]) {
    const r = await getBytes(
      other,
      `/api/orgs/${org}/sessions/${seeded.sessionId}/private/tracks/${track.trackId}/chunks/0`,
    );
    assert.ok(r.status === 404 || r.status === 403, `cross-tenant chunk read refused (${r.status})`);
  }
  const theirs = await other.get<{ enabled: boolean }>(`/api/orgs/${otherOrg}/private-mode`);
  assert.equal(theirs.body.enabled, false);
  // A session that is not sealed serves no raw chunks.
  assertError(await other.get(`/api/orgs/${otherOrg}/sessions/${seeded.sessionId}/private`), 404, 'session_not_found');
});

test(
  'an admin asks for a copy, a key holder grants it, and the admin opens the recording with their own passphrase',
  { skip: !ready },
  async () => {
    const admin = await ts.signIn('private-admin@example.com');
    const adminId = await asOwner(ts, async (c) => {
      const id = (await c.query<{ id: string }>('select id from users where email = $1', ['private-admin@example.com']))
        .rows[0]?.id;
      await c.query(`insert into memberships (organization_id, user_id, role) values ($1, $2, 'admin')`, [orgId, id]);
      return id ?? '';
    });
    const ADMIN_PASS = 'the admin has a passphrase too';
    // The admin's browser: a personal key pair, its private half under the admin's passphrase.
    const personal = await generateOrgKeyPair();
    const asked = await admin.post(`/api/orgs/${orgId}/private-mode/requests`, {
      public_key: toB64(personal.publicKey),
      wrapped_request_key: await wrapOrgPrivateKey(
        personal.privateKey,
        ADMIN_PASS,
        orgId,
        600_000,
        'holder-request-key',
      ),
    });
    assert.equal(asked.status, 201, asked.text);
    const myPrint = await keyFingerprint(new Uint8Array(personal.publicKey));

    // The owner's browser: the request's fingerprint matches what the admin sees; grant it.
    const seen = await owner.get<{
      my_wrapped_key: WrappedOrgKey;
      requests: { user_id: string; public_key: string }[];
    }>(`/api/orgs/${orgId}/private-mode`);
    const req = seen.body.requests.find((r) => r.user_id === adminId);
    assert.ok(req);
    assert.equal(await keyFingerprint(fromB64(req.public_key)), myPrint);
    const orgKey = await unwrapOrgPrivateKey(seen.body.my_wrapped_key, ownerPassphrase, orgId);
    const grant = await grantOrgKey(orgKey, fromB64(req.public_key), orgId, adminId);
    // The admin cannot grant themselves.
    assertError(
      await admin.request('PUT', `/api/orgs/${orgId}/private-mode/requests/${adminId}/grant`, {
        public_key: req.public_key,
        grant,
      }),
      403,
      'forbidden',
    );
    const granted = await owner.request('PUT', `/api/orgs/${orgId}/private-mode/requests/${adminId}/grant`, {
      public_key: req.public_key,
      grant,
    });
    assert.equal(granted.status, 200, granted.text);

    // The admin's browser finishes: personal key → grant → org key, wrapped under their passphrase.
    const mine = await admin.get<{
      my_request: { wrapped_request_key: WrappedOrgKey; grant: PrivateSessionKey };
    }>(`/api/orgs/${orgId}/private-mode`);
    const personalKey = await unwrapOrgPrivateKey(
      mine.body.my_request.wrapped_request_key,
      ADMIN_PASS,
      orgId,
      'holder-request-key',
    );
    const adminOrgKey = await openOrgKeyGrant(mine.body.my_request.grant, personalKey, orgId, adminId);
    const done = await admin.request('PUT', `/api/orgs/${orgId}/private-mode/holders/me`, {
      wrapped_private_key: await wrapOrgPrivateKey(adminOrgKey, ADMIN_PASS, orgId),
    });
    assert.equal(done.status, 200, done.text);
    const after = await admin.get<{ my_wrapped_key: WrappedOrgKey; my_request: unknown; holders: unknown[] }>(
      `/api/orgs/${orgId}/private-mode`,
    );
    assert.equal(after.body.my_request, null);
    assert.equal(after.body.holders.length, 2);
    const fromCopy = await unwrapOrgPrivateKey(after.body.my_wrapped_key, ADMIN_PASS, orgId);
    const bundle = await admin.get<{ private_wrapped_key: PrivateSessionKey }>(`${base()}/private`);
    const raw = await unwrapSessionKey(bundle.body.private_wrapped_key, fromCopy, orgId, seeded.sessionId);
    assert.equal(raw.length, 32, 'the admin opens the session key with their own passphrase');

    // The owner removes the admin's copy (not the last one).
    assert.equal((await owner.delete(`/api/orgs/${orgId}/private-mode/holders/${adminId}`)).status, 200);
    const audit = await owner.get<{ entries: { action: string }[] }>(`/api/orgs/${orgId}/audit`);
    const actions = audit.body.entries.map((e) => e.action);
    for (const a of [
      'private_mode.key_requested',
      'private_mode.key_granted',
      'private_mode.key_holder_added',
      'private_mode.key_holder_removed',
    ])
      assert.ok(actions.includes(a), `${a} is audited`);
  },
);

test('deleting a private recording erases its re-wrapped key too', { skip: !ready }, async () => {
  const other = await seedRecordedSession(ts, orgId, { owner, speakers: ['Cy'] });
  // Its end queued a transcription run: the job worker seals the session when that run ends,
  // and the sweep's step (by hand here) seals it once none is pending. Sealed it must be.
  const detail = `/api/orgs/${orgId}/sessions/${other.sessionId}`;
  let sealedAt: string | null = null;
  for (let i = 0; i < 120 && !sealedAt; i++) {
    await sealPrivateSessions(ts.running.deps);
    sealedAt = (await owner.get<{ private_sealed_at: string | null }>(detail)).body.private_sealed_at;
    if (!sealedAt) await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(sealedAt, 'the recording is sealed before it is deleted');
  const del = await owner.delete(`/api/orgs/${orgId}/sessions/${other.sessionId}`);
  assert.equal(del.status, 200, del.text);
  const row = await asOwner(
    ts,
    async (c) =>
      (
        await c.query<{ wrapped_key: unknown; private_wrapped_key: unknown; key_erased_at: Date | null }>(
          'select wrapped_key, private_wrapped_key, key_erased_at from recording_sessions where id = $1',
          [other.sessionId],
        )
      ).rows[0],
  );
  assert.ok(row?.key_erased_at);
  assert.equal(row.wrapped_key, null);
  assert.equal(row.private_wrapped_key, null, 'no copy of the data key survives the deletion');
});
