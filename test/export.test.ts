// Exporting an organisation as its admin would: the export runs as a job with progress, the
// file decrypts with Debian's `age` binary (X25519 identity from age-keygen), lists with
// `tar`, its audio decodes with ffprobe/ffmpeg, the transcript is there in four formats, and
// nothing of another organisation is inside. A passphrase export opens with the passphrase
// (and the passphrase is stored nowhere). Downloads are audited; after 24 hours the file is
// gone. Non-admins and other orgs are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Decrypter } from 'age-encryption';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { missingMediaTools, ffprobe, decodeErrors } from './helpers/media.ts';
import { prerequisites, which } from './helpers/tools.ts';
import { assertError, freshEmail } from './helpers/api.ts';
import type { HttpClient } from './helpers/http.ts';
import { asOwner, seedRecordedSession, type SeededSession } from './helpers/recording.ts';
import { runLifecycleSweep } from '../server/jobs/sweep.ts';

const ready = prerequisites('export tests', [
  ...missingMediaTools(),
  !(which('age') && which('age-keygen')) && 'age (apt-get install age)',
]);

let ts: TestServer;
let owner: HttpClient;
let otherOwner: HttpClient;
let orgA = '';
let orgB = '';
const emailB = freshEmail('bravo-owner');
let sessions: SeededSession[] = [];
let foreign: SeededSession;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'export-test-'));

interface ExportBody {
  id: string;
  status: string;
  sessions_total: number;
  sessions_done: number;
  size_bytes: number | null;
  download_url: string | null;
  error_code: string | null;
}

async function waitDone(c: HttpClient, orgId: string, id: string): Promise<ExportBody> {
  for (let i = 0; i < 600; i++) {
    const r = await c.get<ExportBody>(`/api/orgs/${orgId}/exports/${id}`);
    if (r.body.status === 'done' || r.body.status === 'failed') return r.body;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('export did not finish');
}

async function download(c: HttpClient, url: string, file: string): Promise<Response> {
  const res = await fetch(ts.url + url, {
    headers: { cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
  });
  if (res.status === 200) fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return res;
}

function walk(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

before(async () => {
  if (!ready) return;
  ts = await startTestServer({ JOBS: 'off' });
  owner = await ts.signIn(freshEmail('alpha-owner'));
  otherOwner = await ts.signIn(emailB);
  orgA = ((await owner.post('/api/orgs', { name: 'Alpha Audio' })).body as { id: string }).id;
  orgB = ((await otherOwner.post('/api/orgs', { name: 'Bravo Secrets' })).body as { id: string }).id;
  sessions = [
    await seedRecordedSession(ts, orgA, { owner, speakers: ['Ada', 'Ben'], transcript: true }),
    await seedRecordedSession(ts, orgA, { owner, speakers: ['Cleo'] }),
  ];
  foreign = await seedRecordedSession(ts, orgB, {
    owner: otherOwner,
    speakers: ['Zed Confidential'],
    transcript: true,
  });
});
after(async () => {
  await ts?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test(
  'an X25519 export decrypts with age, lists with tar, plays with ffprobe and holds nothing of another org',
  { skip: !ready, timeout: 120_000 },
  async () => {
    const idFile = path.join(tmp, 'key.txt');
    execFileSync('age-keygen', ['-o', idFile], { stdio: 'pipe' });
    const recipient = /public key: (age1\S+)/.exec(fs.readFileSync(idFile, 'utf8'))?.[1] ?? '';
    const started = await owner.post<ExportBody>(`/api/orgs/${orgA}/exports`, { recipient });
    assert.equal(started.status, 202, started.text);
    assert.ok(['queued', 'running'].includes(started.body.status));
    const job = await waitDone(owner, orgA, started.body.id);
    assert.equal(job.status, 'done', JSON.stringify(job));
    assert.deepEqual([job.sessions_total, job.sessions_done], [2, 2]);
    const enc = path.join(tmp, 'export.tar.age');
    const res = await download(owner, job.download_url ?? '', enc);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /\.tar\.age/);
    assert.equal(fs.statSync(enc).size, job.size_bytes);
    assert.equal(fs.readFileSync(enc).subarray(0, 21).toString(), 'age-encryption.org/v1');
    const tarFile = path.join(tmp, 'export.tar');
    execFileSync('age', ['-d', '-i', idFile, '-o', tarFile, enc]);
    const listing = execFileSync('tar', ['-tvf', tarFile], { encoding: 'utf8' });
    const names = execFileSync('tar', ['-tf', tarFile], { encoding: 'utf8' }).trim().split('\n');
    const out = path.join(tmp, 'x');
    fs.mkdirSync(out);
    execFileSync('tar', ['-xf', tarFile, '-C', out]);
    assert.ok(
      names.some((n) => n.endsWith('/organization.json')),
      listing,
    );
    assert.ok(
      names.some((n) => /\/audit-log\/part-000001\.jsonl$/.test(n)),
      listing,
    );
    assert.equal(names.filter((n) => n.endsWith('/session.json')).length, 2, listing);
    const audio = walk(out).filter((f) => f.endsWith('.ogg'));
    assert.equal(audio.length, 3, `three tracks: ${listing}`);
    for (const f of audio) {
      const p = await ffprobe(f);
      assert.equal(p.streams[0]?.codec_name, 'opus', f);
      assert.ok(Number(p.format.duration) > 1.5, `${f} lasts ${p.format.duration}`);
      assert.equal(await decodeErrors(f), '', `${f} decodes cleanly`);
    }
    for (const fmt of ['json', 'srt', 'vtt', 'txt'])
      assert.equal(names.filter((n) => n.endsWith(`/transcript.${fmt}`)).length, 1, `transcript.${fmt}`);
    const vtt = fs.readFileSync(walk(out).find((f) => f.endsWith('transcript.vtt')) ?? '', 'utf8');
    assert.match(vtt, /^WEBVTT/);
    assert.match(vtt, /ill disposed/);
    const org = JSON.parse(fs.readFileSync(walk(out).find((f) => f.endsWith('organization.json')) ?? '', 'utf8'));
    assert.equal(org.organization.id, orgA);
    const sessionIds = walk(out)
      .filter((f) => f.endsWith('session.json'))
      .map((f) => JSON.parse(fs.readFileSync(f, 'utf8')).id)
      .sort();
    assert.deepEqual(sessionIds, sessions.map((s) => s.sessionId).sort());
    // Each session.json states every participant's consent, and each exported track spans
    // its whole take, as a direct download does (padded at both ends).
    let spanned = 0;
    for (const f of walk(out).filter((x) => x.endsWith('session.json'))) {
      const doc = JSON.parse(fs.readFileSync(f, 'utf8')) as {
        participants: { consent?: unknown }[];
        takes: { seq: number; started_at: string; stopped_at: string | null }[];
        tracks: { take: number; file: string | null }[];
      };
      for (const p of doc.participants) assert.ok('consent' in p, `consent stated in ${f}`);
      for (const t of doc.tracks) {
        const take = doc.takes.find((k) => k.seq === t.take);
        if (!t.file || !take?.stopped_at) continue;
        const takeS = (Date.parse(take.stopped_at) - Date.parse(take.started_at)) / 1000;
        const got = Number((await ffprobe(path.join(path.dirname(f), t.file))).format.duration);
        assert.ok(Math.abs(got - takeS) < 0.1, `${t.file}: ${got} s for a ${takeS} s take`);
        spanned++;
      }
    }
    assert.equal(spanned, 3, 'every exported track was checked against its take');
    // Nothing of org B: its ids, owner, speaker or transcript anywhere in any byte.
    const markers = [
      orgB,
      foreign.sessionId,
      emailB,
      'Zed Confidential',
      'Bravo Secrets',
      ...foreign.tracks.map((t) => t.trackId),
    ];
    for (const f of walk(out)) {
      const body = fs.readFileSync(f);
      for (const m of markers) assert.equal(body.includes(m), false, `${m} found in ${f}`);
    }
    for (const m of markers) assert.equal(listing.includes(m), false);
    // The download is in the audit log.
    const auditRes = await owner.get<{ entries: { action: string }[] }>(`/api/orgs/${orgA}/audit?limit=20`);
    assert.ok(
      auditRes.body.entries.some((e) => e.action === 'export.downloaded'),
      JSON.stringify(auditRes.body).slice(0, 300),
    );
  },
);

test(
  'a passphrase export opens with the passphrase; the passphrase is stored nowhere',
  { skip: !ready, timeout: 120_000 },
  async () => {
    const passphrase = 'correct horse battery staple 42';
    const started = await owner.post<ExportBody>(`/api/orgs/${orgA}/exports`, { passphrase });
    assert.equal(started.status, 202, started.text);
    const job = await waitDone(owner, orgA, started.body.id);
    assert.equal(job.status, 'done');
    const enc = path.join(tmp, 'pass.tar.age');
    assert.equal((await download(owner, job.download_url ?? '', enc)).status, 200);
    const d = new Decrypter();
    d.addPassphrase(passphrase);
    const plain = Buffer.from(await d.decrypt(fs.readFileSync(enc)));
    assert.equal(plain.subarray(257, 262).toString(), 'ustar', 'a tar archive inside');
    const wrong = new Decrypter();
    wrong.addPassphrase('not the passphrase at all');
    await assert.rejects(wrong.decrypt(fs.readFileSync(enc)));
    const dump = await asOwner(
      ts,
      async (c) =>
        JSON.stringify((await c.query('select * from export_jobs')).rows) +
        JSON.stringify((await c.query('select details from audit_log')).rows),
    );
    assert.equal(dump.includes(passphrase), false);
  },
);

test(
  'exports are for owners and admins of the org; bad recipients are 400; files expire after 24 hours',
  { skip: !ready, timeout: 60_000 },
  async () => {
    assertError(await owner.post(`/api/orgs/${orgA}/exports`, { recipient: 'age1notarealkey' }), 400, 'invalid_input');
    assertError(await owner.post(`/api/orgs/${orgA}/exports`, {}), 400, 'invalid_input');
    assertError(await owner.post(`/api/orgs/${orgA}/exports`, { passphrase: 'short' }), 400, 'invalid_input');
    assertError(await otherOwner.get(`/api/orgs/${orgA}/exports`), 404, 'org_not_found');
    const list = await owner.get<{ exports: ExportBody[] }>(`/api/orgs/${orgA}/exports`);
    const first = list.body.exports.find((e) => e.status === 'done');
    assert.ok(first);
    assertError(await otherOwner.get(`/api/orgs/${orgA}/exports/${first.id}/download`), 404, 'org_not_found');
    assertError(await otherOwner.get(`/api/orgs/${orgB}/exports/${first.id}`), 404, 'export_not_found');
    // A plain member may not export.
    const memberEmail = freshEmail('member');
    await owner.post(`/api/orgs/${orgA}/invitations`, { email: memberEmail, role: 'member' });
    const mail = await ts.inbox.waitFor(memberEmail);
    const token = new URLSearchParams(
      new URL(/(https?:\/\/\S+\/invite\S*)/.exec(mail.text ?? '')?.[1] ?? '').hash.slice(1),
    ).get('token');
    const member = await ts.signIn(memberEmail);
    assert.equal((await member.post('/api/invitations/accept', { token })).status, 200);
    assertError(
      await member.post(`/api/orgs/${orgA}/exports`, { passphrase: 'a long enough passphrase' }),
      403,
      'admin_required',
    );
    assertError(await member.get(`/api/orgs/${orgA}/exports/${first.id}/download`), 403, 'admin_required');
    // 24 hours later the file is refused, then removed by the sweep.
    ts.clock.advance(25 * 3600);
    const again = await ts.signIn((await owner.get<{ user: { email: string } }>('/api/me')).body.user?.email ?? '');
    assertError(await again.get(`/api/orgs/${orgA}/exports/${first.id}/download`), 410, 'export_expired');
    const r = await runLifecycleSweep(ts.running.deps);
    assert.ok(r.exports_expired >= 2);
    const objects = [];
    for await (const o of ts.running.deps.storage.objectStore.list(`orgs/${orgA}/exports/`)) objects.push(o.key);
    assert.deepEqual(objects, []);
    assert.equal((await again.get<ExportBody>(`/api/orgs/${orgA}/exports/${first.id}`)).body.status, 'expired');
  },
);
