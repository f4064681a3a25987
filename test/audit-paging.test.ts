// The audit log as an admin reads it, on an org with more entries than a page (5,129 of
// its own, like the org that exported 5,296 rows with 180 duplicated and 13 missing): the
// page API walks every entry once in numeric id order both ways; the filter narrows the
// rows and the CSV / JSON-lines download holds exactly the rows the filter selects; the
// org export's audit-log parts hold every entry once; a deleted account shows as such;
// members and other orgs are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, type TestServer } from './helpers/server.ts';
import type { HttpClient } from './helpers/http.ts';
import { assertError, freshEmail, getMe, inviteLinkIn } from './helpers/api.ts';
import { asOwner } from './helpers/recording.ts';
import { prerequisites, which } from './helpers/tools.ts';

const haveAge = prerequisites('audit export check', [
  !(which('age') && which('age-keygen')) && 'age (apt-get install age)',
]);

interface Actor {
  id: string | null;
  email: string | null;
  name: string | null;
  deleted: boolean;
}
interface AuditEvent {
  id: string;
  at: string;
  action: string;
  actor: Actor | null;
  target: { type: string; id: string | null; label: string | null } | null;
  detail: Record<string, unknown>;
}
interface Page {
  events: AuditEvent[];
  next_cursor: string | null;
}

let ts: TestServer;
let owner: HttpClient;
let member: HttpClient;
let outsider: HttpClient;
let orgId = '';
let base = '';
let ownerId = '';
const memberEmail = freshEmail('leaver');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-paging-'));
const SEEDED = 5129;

before(async () => {
  ts = await startTestServer({ JOBS: 'off' });
  owner = await ts.signIn(freshEmail('audit-owner'));
  member = await ts.signIn(memberEmail);
  outsider = await ts.signIn(freshEmail('audit-outsider'));
  const me = (await getMe(owner)).body.user;
  ownerId = me.id;
  assert.equal((await owner.patch('/api/me', { display_name: 'Olga Owner' })).status, 200);
  orgId = String((await owner.post('/api/orgs', { name: 'Paging Co' })).body.id);
  base = `/api/orgs/${orgId}`;
  await outsider.post('/api/orgs', { name: 'Elsewhere' });
  const since = ts.inbox.messages.length;
  assert.equal((await owner.post(`${base}/invitations`, { email: memberEmail })).status, 201);
  const { token } = inviteLinkIn(await ts.inbox.waitFor(memberEmail, { since }));
  assert.equal((await member.post('/api/invitations/accept', { token })).status, 200);
  // 5,129 entries over 40 days: every third by the owner, the rest by an address only,
  // alternating actions, so filters have something to narrow.
  await asOwner(ts, (c) =>
    c.query(
      `insert into audit_log (organization_id, actor_user_id, actor_email, action, details, created_at)
       select $1::uuid, case when g % 3 = 0 then $2::uuid end, case when g % 3 = 0 then $3 else 'bot@example.com' end,
              case when g % 2 = 0 then 'test.even' else 'test.odd' end,
              jsonb_build_object('n', g, 'note', 'a, "quoted" note'),
              timestamptz '2026-10-01T00:00:00Z' + make_interval(mins => g * 11)
         from generate_series(1, $4::int) g`,
      [orgId, ownerId, me.email, SEEDED],
    ),
  );
});
after(async () => {
  await ts?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function orgAuditIds(where = 'true', params: unknown[] = []): Promise<string[]> {
  return asOwner(ts, async (c) =>
    (
      await c.query<{ id: string }>(
        `select id::text as id from audit_log where organization_id = $1 and ${where} order by audit_log.id`,
        [orgId, ...params],
      )
    ).rows.map((r) => r.id),
  );
}

async function walk(query: string): Promise<AuditEvent[]> {
  const all: AuditEvent[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 100; i++) {
    const res: Awaited<ReturnType<typeof owner.get<Page>>> = await owner.get<Page>(
      `${base}/audit/events?${query}${cursor ? `&after=${cursor}` : ''}`,
    );
    assert.equal(res.status, 200, res.text);
    all.push(...res.body.events);
    cursor = res.body.next_cursor;
    if (!cursor) return all;
  }
  throw new Error('paging did not end');
}

const increasing = (ids: string[]) => ids.every((id, i) => i === 0 || BigInt(id) > BigInt(ids[i - 1] ?? '0'));

test('the page API walks every entry once, oldest first by numeric id, and newest first', async () => {
  const expected = await orgAuditIds();
  assert.ok(expected.length > SEEDED, `${expected.length} entries`);
  const asc = (await walk('limit=500')).map((e) => e.id);
  assert.equal(asc.length, expected.length);
  assert.deepEqual(asc, expected, 'every id once, in numeric order');
  assert.ok(increasing(asc));
  assert.ok(asc.includes('999') && asc.includes('1000'), 'the walk crosses a digit boundary');
  const desc = (await walk('limit=333&order=desc')).map((e) => e.id);
  assert.deepEqual(desc, [...expected].reverse());
  const first = await owner.get<Page>(`${base}/audit/events?limit=2`);
  assert.equal(first.body.events.length, 2);
  assert.equal(first.body.next_cursor, first.body.events[1]?.id);
  const created = (await walk('action=org.created'))[0];
  assert.equal(created?.actor?.name, 'Olga Owner', 'the actor is shown by name');
  assert.equal(created?.actor?.deleted, false);
});

test('the filter narrows the rows; the CSV and JSON lines downloads hold the same rows', async () => {
  const query = `action=test.even&actor=${ownerId}&from=2026-10-10&to=2026-10-30T12:00:00Z`;
  const events = await walk(`${query}&limit=100`);
  const expected = await orgAuditIds(
    `action = 'test.even' and actor_user_id = $2 and created_at >= '2026-10-10' and created_at < '2026-10-30T12:00:00Z'`,
    [ownerId],
  );
  assert.ok(expected.length > 100 && expected.length < 1000, `${expected.length} rows match`);
  assert.deepEqual(
    events.map((e) => e.id),
    expected,
  );
  for (const e of events) {
    assert.equal(e.action, 'test.even');
    assert.equal(e.actor?.id, ownerId);
    assert.ok(e.at >= '2026-10-10' && e.at < '2026-10-30T12:00:00Z', e.at);
  }
  const byEmail = await walk('actor=BOT@example.com&limit=500');
  assert.equal(byEmail.length, await orgAuditIds(`actor_email = 'bot@example.com'`).then((x) => x.length));

  const csv = await owner.get(`${base}/audit/download?format=csv&${query}`);
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
  assert.match(
    csv.headers.get('content-disposition') ?? '',
    /attachment; filename="audit-[0-9a-f]{8}-\d{4}-\d\d-\d\d\.csv"/,
  );
  const rows = parseCsv(csv.text);
  assert.deepEqual(rows[0], [
    'id',
    'at',
    'action',
    'actor_id',
    'actor_email',
    'actor_name',
    'actor_deleted',
    'target_type',
    'target_id',
    'target_label',
    'detail',
  ]);
  const body = rows.slice(1);
  assert.deepEqual(
    body.map((r) => r[0]),
    expected,
    'the CSV holds exactly the filtered rows',
  );
  const detail = JSON.parse(body[0]?.[10] ?? '{}') as { note?: string };
  assert.equal(detail.note, 'a, "quoted" note', 'commas and quotes survive the CSV quoting');

  const jsonl = await owner.get(`${base}/audit/download?format=jsonl&${query}`);
  assert.equal(jsonl.status, 200);
  const lines = jsonl.text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditEvent);
  assert.deepEqual(lines, events, 'the JSON lines are the events the page API showed');
  // The downloads were audited, each bounded by the newest entry when it started (not itself).
  const downloads = await walk('action=audit.downloaded');
  assert.deepEqual(
    downloads.map((d) => d.detail.format),
    ['csv', 'jsonl'],
  );
  for (const d of downloads) assert.ok(BigInt(String(d.detail.up_to_id)) < BigInt(d.id));

  // Unfiltered, the download spans several pages of the server's reads and is the whole log.
  const everything = (await orgAuditIds()).filter((id) => BigInt(id) < BigInt(downloads[1]?.id ?? '0') + 1n);
  const all = await owner.get(`${base}/audit/download?format=jsonl`);
  assert.equal(all.status, 200);
  const allIds = all.text
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as AuditEvent).id);
  assert.ok(allIds.length > 5000, `${allIds.length} rows`);
  assert.deepEqual(allIds, everything, 'every entry up to the download, once, in id order');
});

test(
  'the export holds every audit entry once, in order, across parts',
  { skip: !haveAge, timeout: 180_000 },
  async () => {
    const idFile = path.join(tmp, 'key.txt');
    execFileSync('age-keygen', ['-o', idFile], { stdio: 'pipe' });
    const recipient = /public key: (age1\S+)/.exec(fs.readFileSync(idFile, 'utf8'))?.[1] ?? '';
    const before = await orgAuditIds();
    const started = await owner.post<{ id: string }>(`${base}/exports`, { recipient });
    assert.equal(started.status, 202, started.text);
    let job: { status: string; download_url: string | null } = { status: 'queued', download_url: null };
    for (let i = 0; i < 600 && !['done', 'failed'].includes(job.status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await owner.get<typeof job>(`${base}/exports/${started.body.id}`)).body;
    }
    assert.equal(job.status, 'done');
    const res = await fetch(ts.url + (job.download_url ?? ''), {
      headers: { cookie: [...owner.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    assert.equal(res.status, 200);
    const enc = path.join(tmp, 'org.tar.age');
    fs.writeFileSync(enc, Buffer.from(await res.arrayBuffer()));
    const out = path.join(tmp, 'x');
    fs.mkdirSync(out);
    execFileSync('age', ['-d', '-i', idFile, '-o', path.join(tmp, 'org.tar'), enc]);
    execFileSync('tar', ['-xf', path.join(tmp, 'org.tar'), '-C', out]);
    const root = fs.readdirSync(out)[0] ?? '';
    const parts = fs.readdirSync(path.join(out, root, 'audit-log')).sort();
    assert.deepEqual(parts, ['part-000001.jsonl', 'part-000002.jsonl']);
    assert.ok(fs.existsSync(path.join(out, root, 'usage.jsonl')), 'the usage ledger is exported too');
    const ids = parts.flatMap((p) =>
      fs
        .readFileSync(path.join(out, root, 'audit-log', p), 'utf8')
        .trim()
        .split('\n')
        .map((l) => String((JSON.parse(l) as { id: string }).id)),
    );
    // Everything up to the export's start (export.requested is the entry that started it).
    const upTo = ids.at(-1) ?? '';
    const expected = (await orgAuditIds()).filter((id) => BigInt(id) <= BigInt(upTo));
    assert.ok(expected.length >= before.length, `${expected.length} entries`);
    assert.equal(new Set(ids).size, ids.length, 'no entry twice');
    assert.deepEqual(ids, expected, 'no entry missing, in id order');
  },
);

test('a deleted account shows as such; its entries stay', async () => {
  const memberId = (await getMe(member)).body.user.id;
  await member.patch('/api/me', { display_name: 'Lee Leaver' });
  assert.equal((await owner.patch(`${base}/members/${memberId}`, { role: 'admin' })).status, 200);
  const admin = member;
  // The admin acts (renames the org), then their account is purged by the sweep's function.
  assert.equal((await admin.patch(base, { name: 'Paging Co.' })).status, 200);
  const acted = (await walk(`actor=${memberId}`)).map((e) => e.id);
  assert.ok(acted.length >= 1);
  await asOwner(ts, async (c) => {
    await c.query(
      `update users set deletion_requested_at = now() - interval '31 days', deletion_due_at = now() - interval '1 day' where id = $1`,
      [memberId],
    );
    await c.query('delete from memberships where user_id = $1', [memberId]);
    assert.equal((await c.query<{ ok: boolean }>('select app.purge_account($1) as ok', [memberId])).rows[0]?.ok, true);
  });
  const all = await walk('limit=500&order=desc');
  const theirs = all.filter((e) => acted.includes(e.id));
  assert.equal(theirs.length, acted.length, 'the entries stay');
  for (const e of theirs) assert.deepEqual(e.actor, { id: null, email: null, name: null, deleted: true });
  const roleChange = all.find((e) => e.action === 'member.role_changed');
  assert.equal(roleChange?.target?.type, 'user');
  assert.equal(roleChange?.target?.label, 'deleted account');
  const system = all.find((e) => e.actor === null);
  assert.equal(system, undefined, 'no entry of this org is by the system, none is mistaken for it');
  const facets = await owner.get<{ actions: string[]; actors: Actor[] }>(`${base}/audit/facets`);
  assert.equal(facets.status, 200);
  assert.ok(facets.body.actions.includes('test.odd') && facets.body.actions.includes('org.created'));
  assert.ok(facets.body.actors.some((a) => a.deleted));
  assert.ok(facets.body.actors.some((a) => a.id === ownerId && a.name === 'Olga Owner'));
});

test('members, other orgs and malformed filters are refused', async () => {
  const plain = await ts.signIn(freshEmail('plain'));
  const email = freshEmail('plain2');
  const c2 = await ts.signIn(email);
  const since = ts.inbox.messages.length;
  await owner.post(`${base}/invitations`, { email });
  const { token } = inviteLinkIn(await ts.inbox.waitFor(email, { since }));
  assert.equal((await c2.post('/api/invitations/accept', { token })).status, 200);
  assertError(await c2.get(`${base}/audit/events`), 403, 'admin_required', 'a member');
  assertError(await c2.get(`${base}/audit/download?format=csv`), 403, 'admin_required', 'a member downloads');
  assertError(await outsider.get(`${base}/audit/events`), 404, 'org_not_found', 'another org');
  assertError(await plain.get(`${base}/audit/download?format=jsonl`), 404, 'org_not_found', 'no org');
  for (const q of [
    'after=abc',
    'after=-1',
    'limit=0',
    'limit=501',
    'from=yesterday',
    'from=2026-11-02&to=2026-11-01',
    'actor=not-an-id',
    'order=random',
    'action=DROP%20TABLE',
    'action=a&action=b',
    'unknown=1',
  ])
    assertError(await owner.get(`${base}/audit/events?${q}`), 400, 'invalid_input', q);
  assertError(await owner.get(`${base}/audit/download?format=xml`), 400, 'invalid_input', 'format=xml');
  assertError(await owner.get(`${base}/audit/download`), 400, 'invalid_input', 'no format');
});

/** RFC 4180: quoted cells may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}
