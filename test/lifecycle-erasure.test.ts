// Erasure as people meet it: a deleted recording comes with a deletion certificate an
// auditor verifies with node:crypto and the deployment's public key (a tampered one fails);
// an org scheduled for deletion is read-only (423, also at the database) for 7 days, any
// owner can cancel, owners are emailed when it is scheduled, a day before and when done, and
// the audit log stays orphaned for 12 months; retention erases what is older than N days,
// and the next sweep's victims are listed beforehand. Afterwards nothing affected opens
// with any key left in the database or the secrets folder, while other orgs' recordings
// still play. Time moves only through the injectable clock.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { missingMediaTools } from './helpers/media.ts';
import { prerequisites } from './helpers/tools.ts';
import { assertError, freshEmail } from './helpers/api.ts';
import type { HttpClient } from './helpers/http.ts';
import {
  anyKeyOpens,
  asOwner,
  everyRemainingKey,
  seedRecordedSession,
  type SeededSession,
} from './helpers/recording.ts';
import { runLifecycleSweep } from '../server/jobs/sweep.ts';

const ready = prerequisites('lifecycle erasure tests', missingMediaTools());
const DAY = 24 * 3600;

/** A deletion certificate as the API returns it. */
interface Cert {
  certificate: {
    session_id: string;
    organization_id: string;
    reason: string;
    erased_at: string;
    key_erased: { provider: string; key_id: string; wrapped_key_sha256: string };
    made_unreadable: { chunks: number; bytes: number; transcripts: number; sessions?: number };
  };
  signature: string;
  algorithm: string;
}

let ts: TestServer;
const orgs: Record<'a' | 'b' | 'c' | 'd', { id: string; owner: HttpClient; email: string }> = {} as never;
const seeded: Record<string, SeededSession> = {};
/** Sealed bytes of everything that will be erased, kept as a stolen backup would keep them. */
const stolen: { s: SeededSession; sealed: Buffer; what: { trackId: string; seq: number } | { runId: string } }[] = [];

async function newOrg(name: string) {
  const email = freshEmail(name.toLowerCase());
  const owner = await ts.signIn(email);
  const res = await owner.post('/api/orgs', { name });
  assert.equal(res.status, 201);
  return { id: (res.body as { id: string }).id, owner, email };
}

async function steal(s: SeededSession) {
  for (const c of s.chunks)
    stolen.push({
      s,
      sealed: await ts.running.deps.storage.objectStore.get(c.objectKey),
      what: { trackId: c.trackId, seq: c.seq },
    });
  if (s.transcript)
    stolen.push({
      s,
      sealed: await ts.running.deps.storage.objectStore.get(s.transcript.objectKey),
      what: { runId: s.transcript.runId },
    });
}

/** An independent verifier: canonical JSON (sorted keys, no spaces) and Ed25519 from node:crypto. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}
function auditorVerifies(pem: string, cert: { certificate: unknown; signature: string }): boolean {
  return verify(
    null,
    Buffer.from(canonical(cert.certificate)),
    createPublicKey(pem),
    Buffer.from(cert.signature, 'base64'),
  );
}

before(async () => {
  if (!ready) return;
  ts = await startTestServer({ JOBS: 'off' });
  for (const [k, name] of [
    ['a', 'Alpha'],
    ['b', 'Bravo'],
    ['c', 'Charlie'],
    ['d', 'Delta'],
  ] as const)
    orgs[k] = await newOrg(name);
  seeded.a1 = await seedRecordedSession(ts, orgs.a.id, { owner: orgs.a.owner, transcript: true });
  seeded.a2 = await seedRecordedSession(ts, orgs.a.id, { owner: orgs.a.owner, speakers: ['Solo'] });
  seeded.b1 = await seedRecordedSession(ts, orgs.b.id, { owner: orgs.b.owner, transcript: true });
  seeded.c1 = await seedRecordedSession(ts, orgs.c.id, { owner: orgs.c.owner, transcript: true });
  seeded.d1 = await seedRecordedSession(ts, orgs.d.id, { owner: orgs.d.owner, transcript: true });
  for (const k of ['a1', 'c1', 'd1']) await steal(seeded[k] as SeededSession);
});
after(async () => {
  await ts?.close();
});

test(
  'deleting a recording returns a signed certificate an auditor verifies; a tampered one fails',
  { skip: !ready, timeout: 60_000 },
  async () => {
    const s = seeded.a1 as SeededSession;
    const del = await orgs.a.owner.delete(`/api/orgs/${orgs.a.id}/sessions/${s.sessionId}`);
    assert.equal(del.status, 200, del.text);
    const cert = del.body.certificate as Cert;
    assert.equal(cert.algorithm, 'Ed25519');
    const c = cert.certificate;
    assert.equal(c.session_id, s.sessionId);
    assert.equal(c.organization_id, orgs.a.id);
    assert.equal(c.made_unreadable.chunks, s.chunks.length);
    assert.equal(c.made_unreadable.transcripts, 1);
    assert.ok(c.made_unreadable.bytes > 1000);
    assert.match(c.key_erased.key_id, /^[0-9a-f]{16}$/, 'names the KEK that wrapped the erased key');
    assert.match(c.key_erased.wrapped_key_sha256, /^[0-9a-f]{64}$/);
    const pem = await ts.client().get('/api/deployment/public-key');
    assert.equal(pem.status, 200);
    assert.match(pem.text, /^-----BEGIN PUBLIC KEY-----/);
    assert.equal(createPublicKey(pem.text).asymmetricKeyType, 'ed25519');
    assert.ok(auditorVerifies(pem.text, cert), 'the certificate verifies');
    for (const tamper of [
      { ...c, made_unreadable: { ...c.made_unreadable, chunks: c.made_unreadable.chunks - 1 } },
      { ...c, erased_at: new Date(0).toISOString() },
      { ...c, session_id: (seeded.a2 as SeededSession).sessionId },
    ]) {
      assert.equal(
        auditorVerifies(pem.text, { certificate: tamper, signature: cert.signature }),
        false,
        'a changed statement does not verify',
      );
    }
    // Members fetch it later; the stored one is the same statement.
    const later = await orgs.a.owner.get(`/api/orgs/${orgs.a.id}/sessions/${s.sessionId}/certificate`);
    assert.equal(later.status, 200);
    assert.deepEqual(later.body.certificate, c);
    assert.ok(auditorVerifies(pem.text, later.body as never));
    // The key file is the deployment's, owner-only.
    assert.equal(fs.statSync(path.join(ts.dataDir, 'secrets', 'signing-key.pem')).mode & 0o077, 0);
    // Another org cannot see it.
    assertError(
      await orgs.b.owner.get(`/api/orgs/${orgs.a.id}/sessions/${s.sessionId}/certificate`),
      404,
      'org_not_found',
    );
  },
);

test(
  'org deletion: owner-only, 423 read-only (API and SQL) during the grace period, cancellable by any owner',
  { skip: !ready, timeout: 60_000 },
  async () => {
    const d = orgs.d;
    // A second owner, who will cancel.
    const email2 = freshEmail('second');
    const inv = await d.owner.post(`/api/orgs/${d.id}/invitations`, { email: email2, role: 'owner' });
    assert.equal(inv.status, 201);
    const mail = await ts.inbox.waitFor(email2);
    const token = new URLSearchParams(
      new URL(/(https?:\/\/\S+\/invite\S*)/.exec(mail.text ?? '')?.[1] ?? '').hash.slice(1),
    ).get('token');
    const owner2 = await ts.signIn(email2);
    assert.equal((await owner2.post('/api/invitations/accept', { token })).status, 200);
    // Only an owner, and only with the org's exact name.
    assertError(
      await d.owner.post(`/api/orgs/${d.id}/deletion`, { confirm_name: 'delta' }),
      400,
      'confirmation_mismatch',
    );
    const since = ts.inbox.messages.length;
    const sched = await d.owner.post(`/api/orgs/${d.id}/deletion`, { confirm_name: 'Delta' });
    assert.equal(sched.status, 202, sched.text);
    const due = Date.parse(String(sched.body.due_at));
    assert.ok(Math.abs(due - (ts.clock.now().getTime() + 7 * DAY * 1000)) < 60_000, 'due in 7 days');
    for (const to of [d.email, email2])
      assert.match((await ts.inbox.waitFor(to, { since, subject: /will be deleted/ })).text ?? '', /cancel/);
    // Read-only: writes are refused with a clear code, reads work.
    assertError(
      await d.owner.post(`/api/orgs/${d.id}/sessions`, { title: 'Late' }),
      423,
      'org_pending_deletion',
      'create session',
    );
    assertError(await d.owner.patch(`/api/orgs/${d.id}`, { name: 'Renamed' }), 423, 'org_pending_deletion', 'rename');
    assertError(
      await d.owner.request('PUT', `/api/orgs/${d.id}/retention`, { retention_days: 5 }),
      423,
      'org_pending_deletion',
      'retention',
    );
    assertError(
      await d.owner.delete(`/api/orgs/${d.id}/sessions/${(seeded.d1 as SeededSession).sessionId}`),
      423,
      'org_pending_deletion',
      'delete recording',
    );
    assert.equal((await d.owner.get(`/api/orgs/${d.id}/sessions`)).status, 200);
    assertError(await d.owner.post(`/api/orgs/${d.id}/deletion`, { confirm_name: 'Delta' }), 409, 'already_scheduled');
    // The database refuses too, whatever SQL the API role runs.
    const app = new pg.Client({ connectionString: ts.db.appUrl });
    await app.connect();
    try {
      // As the owner's own session proves it (the only way the API role gets a user).
      await app.query('begin');
      await app.query('select * from app.begin_request($1, $2, 604800)', [d.owner.cookies.get('sid'), d.id]);
      await assert.rejects(
        app.query(`update organizations set name = 'x' where id = $1`, [d.id]),
        /org_pending_deletion/,
      );
      await app.query('rollback');
    } finally {
      await app.end();
    }
    // Any owner cancels; writes work again; then it is scheduled again for the sweep below.
    const cancel = await owner2.delete(`/api/orgs/${d.id}/deletion`);
    assert.equal(cancel.status, 200, cancel.text);
    assert.equal((await d.owner.patch(`/api/orgs/${d.id}`, { name: 'Delta' })).status, 200);
    assert.equal((await owner2.post(`/api/orgs/${d.id}/deletion`, { confirm_name: 'Delta' })).status, 202);
    assert.equal((await d.owner.get(`/api/orgs/${d.id}/deletion`)).body.scheduled, true);
  },
);

test(
  'a day before, owners are reminded; after 7 days the org is erased, its members detached, owners get a verifiable certificate',
  { skip: !ready, timeout: 60_000 },
  async () => {
    const d = orgs.d;
    ts.clock.advance(5 * DAY);
    let since = ts.inbox.messages.length;
    await runLifecycleSweep(ts.running.deps);
    assert.equal(
      ts.inbox.messages.slice(since).filter((m) => /Reminder/.test(m.subject ?? '')).length,
      0,
      'no reminder 2 days early',
    );
    ts.clock.advance(1 * DAY + 3600);
    await runLifecycleSweep(ts.running.deps);
    assert.match((await ts.inbox.waitFor(d.email, { since, subject: /Reminder/ })).text ?? '', /less than a day/);
    assert.equal((await d.owner.get(`/api/orgs/${d.id}`)).status, 200, 'still there');
    ts.clock.advance(1 * DAY);
    since = ts.inbox.messages.length;
    const r = await runLifecycleSweep(ts.running.deps);
    assert.equal(r.orgs_deleted, 1);
    const done = await ts.inbox.waitFor(d.email, { since, subject: /was deleted/ });
    const cert = JSON.parse(/(\{[\s\S]*\})\s*$/.exec(done.text ?? '')?.[1] ?? '{}') as Cert;
    assert.equal(cert.certificate.organization_id, d.id);
    assert.equal(cert.certificate.made_unreadable.sessions, 1);
    assert.ok(auditorVerifies((await ts.client().get('/api/deployment/public-key')).text, cert));
    assertError(await d.owner.get(`/api/orgs/${d.id}`), 404, 'org_not_found');
    const me = (await d.owner.get('/api/me')).body as { memberships: { id: string }[] };
    assert.ok(!me.memberships.some((m) => m.id === d.id), 'members are detached');
    const left = await asOwner(ts, async (c) => ({
      orgs: (await c.query('select count(*)::int as n from organizations where id = $1', [d.id])).rows[0].n,
      sessions: (await c.query('select count(*)::int as n from recording_sessions where organization_id = $1', [d.id]))
        .rows[0].n,
      audit: (
        await c.query(
          `select count(*)::int as n from audit_log where organization_id is null and orphaned_at is not null`,
        )
      ).rows[0].n,
    }));
    assert.deepEqual({ orgs: left.orgs, sessions: left.sessions }, { orgs: 0, sessions: 0 });
    assert.ok(left.audit >= 3, 'the audit log is kept, orphaned');
    const objects = [];
    for await (const o of ts.running.deps.storage.objectStore.list(`orgs/${d.id}/`)) objects.push(o);
    assert.deepEqual(objects, [], 'no stored object of the org is left');
  },
);

test(
  'retention: the next sweep and what it erases are listed beforehand; then it erases them with a certificate',
  { skip: !ready, timeout: 60_000 },
  async () => {
    // Days went by: sessions idle past their lifetime, so people sign in again.
    orgs.c.owner = await ts.signIn(orgs.c.email);
    const c = orgs.c;
    const s = seeded.c1 as SeededSession;
    const initial = await c.owner.get(`/api/orgs/${c.id}/retention`);
    assert.equal(initial.status, 200, initial.text);
    assert.equal(initial.body.retention_days, null, 'keep until deleted by default');
    const set = await c.owner.request('PUT', `/api/orgs/${c.id}/retention`, { retention_days: 30 });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual(set.body.due_at_next_sweep, [], 'a fresh recording is not due');
    assertError(
      await c.owner.request('PUT', `/api/orgs/${c.id}/retention`, { retention_days: 0 }),
      400,
      'invalid_input',
    );
    assertError(
      await c.owner.request('PUT', `/api/orgs/${c.id}/retention`, { retention_days: '30' }),
      400,
      'invalid_input',
    );
    ts.clock.advance(31 * DAY);
    c.owner = await ts.signIn(c.email);
    const view = await c.owner.get(`/api/orgs/${c.id}/retention`);
    const due = view.body.due_at_next_sweep as { id: string; erase_after: string }[];
    assert.deepEqual(
      due.map((x) => x.id),
      [s.sessionId],
    );
    assert.ok(Date.parse(String(view.body.next_sweep_at)) >= ts.clock.now().getTime() - 1000);
    assert.equal(
      (await c.owner.get(`/api/orgs/${c.id}/sessions/${s.sessionId}`)).status,
      200,
      'not erased before the sweep',
    );
    const r = await runLifecycleSweep(ts.running.deps);
    assert.ok(r.retention_erased >= 1);
    const cert = await c.owner.get<Cert>(`/api/orgs/${c.id}/sessions/${s.sessionId}/certificate`);
    assert.equal(cert.status, 200);
    assert.equal(cert.body.certificate.reason, 'retention');
    assert.equal(cert.body.certificate.made_unreadable.transcripts, 1);
    assert.deepEqual((await c.owner.get(`/api/orgs/${c.id}/retention`)).body.due_at_next_sweep, []);
    // Org A keeps everything (no retention) although its recordings are as old.
    orgs.a.owner = await ts.signIn(orgs.a.email);
    assert.equal(
      (await orgs.a.owner.get(`/api/orgs/${orgs.a.id}/sessions/${(seeded.a2 as SeededSession).sessionId}`)).status,
      200,
    );
  },
);

test('12 months after an org was deleted its audit entries are purged', { skip: !ready, timeout: 60_000 }, async () => {
  const count = () =>
    asOwner(
      ts,
      async (c) =>
        (
          await c.query(
            `select count(*)::int as n from audit_log where organization_id is null and orphaned_at is not null`,
          )
        ).rows[0].n as number,
    );
  assert.ok((await count()) > 0);
  ts.clock.advance(300 * DAY);
  await runLifecycleSweep(ts.running.deps);
  assert.ok((await count()) > 0, 'kept within 12 months');
  ts.clock.advance(40 * DAY);
  await runLifecycleSweep(ts.running.deps);
  assert.equal(await count(), 0);
});

test(
  'nothing erased opens with any key left in the database or secrets; other recordings still play',
  { skip: !ready, timeout: 60_000 },
  async () => {
    const keys = await everyRemainingKey(ts);
    // The raw KEKs too, as if someone tried them as data keys.
    const secrets = path.join(ts.dataDir, 'secrets');
    const candidates = [
      ...keys.values(),
      ...fs
        .readdirSync(secrets)
        .filter((f) => /^kek-[0-9a-f]{16}$/.test(f))
        .map((f) => Buffer.from(fs.readFileSync(path.join(secrets, f), 'utf8'), 'base64')),
    ];
    assert.ok(stolen.length > 10);
    for (const x of stolen) {
      assert.ok(!keys.has(x.s.sessionId), 'the erased session has no wrapped key left');
      assert.equal(
        anyKeyOpens(candidates, x.s, x.sealed, x.what),
        false,
        `an erased ${'runId' in x.what ? 'transcript' : 'chunk'} opened`,
      );
    }
    // The sweep removed their objects as well.
    for (const x of stolen.filter((y) => 'trackId' in y.what).slice(0, 5)) {
      const key = (
        x.s.chunks.find((ch) => 'trackId' in x.what && ch.trackId === x.what.trackId && ch.seq === x.what.seq) ?? {
          objectKey: '',
        }
      ).objectKey;
      await assert.rejects(
        ts.running.deps.storage.objectStore.get(key),
        (err: { code?: string }) => err.code === 'object_not_found',
      );
    }
    // Unaffected sessions in org A and org B still open and play.
    for (const s of [seeded.a2, seeded.b1] as SeededSession[]) {
      const key = keys.get(s.sessionId);
      assert.ok(key, 'still has its key');
      for (const c of s.chunks)
        assert.ok(anyKeyOpens([key], s, await ts.running.deps.storage.objectStore.get(c.objectKey), c));
      if (s.transcript)
        assert.ok(
          anyKeyOpens([key], s, await ts.running.deps.storage.objectStore.get(s.transcript.objectKey), {
            runId: s.transcript.runId,
          }),
        );
    }
    orgs.a.owner = await ts.signIn(orgs.a.email);
    const detail = await orgs.a.owner.get(`/api/orgs/${orgs.a.id}/sessions/${(seeded.a2 as SeededSession).sessionId}`);
    const track = (detail.body.tracks as { download_url: string }[])[0];
    const res = await fetch(ts.url + (track?.download_url ?? ''), {
      headers: { cookie: [...orgs.a.owner.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    assert.equal(res.status, 200);
    assert.ok((await res.arrayBuffer()).byteLength > 1000);
  },
);
