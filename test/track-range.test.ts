// Track downloads answer Range requests, so the session page's players stream and seek:
// ranged bodies put together are the full file byte for byte, suffix ranges, 416 past the
// end, and `recording.downloaded` audited for the complete download only, never per range.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { missingMediaTools } from './helpers/media.ts';
import { prerequisites } from './helpers/tools.ts';
import type { HttpClient } from './helpers/http.ts';
import { seedRecordedSession, type SeededSession } from './helpers/recording.ts';
import { parseByteRange } from '../server/services/sessions.ts';

const ready = prerequisites('track range tests', [...missingMediaTools()]);

let ts: TestServer;
let owner: HttpClient;
let orgId: string;
let seeded: SeededSession;

before(async () => {
  if (!ready) return;
  ts = await startTestServer();
  owner = await ts.signIn('ranges@example.com');
  orgId = ((await owner.post('/api/orgs', { name: 'Ranges' })).body as { id: string }).id;
  seeded = await seedRecordedSession(ts, orgId, { owner, speakers: ['Ada'] });
});
after(async () => {
  await ts?.close();
});

/** A GET with the owner's cookies and the body as bytes. */
async function get(path: string, range?: string) {
  const headers: Record<string, string> = {
    cookie: [...owner.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
  };
  if (range) headers.range = range;
  const res = await fetch(owner.base + path, { headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

async function downloads(): Promise<number> {
  const r = await owner.get<{ entries: { action: string }[] }>(`/api/orgs/${orgId}/audit`);
  return r.body.entries.filter((e) => e.action === 'recording.downloaded').length;
}

test('ranged GETs stream the same bytes as a full GET; only the full one is audited', { skip: !ready }, async () => {
  const track = seeded.tracks[0];
  assert.ok(track);
  const url = `/api/orgs/${orgId}/sessions/${seeded.sessionId}/tracks/${track.trackId}/download`;

  const full = await get(url);
  assert.equal(full.status, 200);
  assert.equal(full.headers.get('accept-ranges'), 'bytes');
  assert.equal(full.headers.get('content-type'), 'audio/ogg');
  assert.match(full.headers.get('content-disposition') ?? '', /attachment/);
  const size = full.body.length;
  assert.ok(size > 1000, `${size} bytes`);
  for (let i = 0; i < 50 && (await downloads()) < 1; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await downloads(), 1, 'the full GET is a download');

  // Several ranges, put together, are the file.
  const cuts = [0, 1, 37, 4096, Math.floor(size / 2), size - 2, size];
  const parts: Buffer[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [a, b] = [cuts[i]!, cuts[i + 1]! - 1];
    const r = await get(url, `bytes=${a}-${b}`);
    assert.equal(r.status, 206, `bytes=${a}-${b}`);
    assert.equal(r.headers.get('content-range'), `bytes ${a}-${b}/${size}`);
    assert.equal(r.headers.get('accept-ranges'), 'bytes');
    assert.equal(Number(r.headers.get('content-length')), b - a + 1);
    assert.equal(r.body.length, b - a + 1);
    parts.push(r.body);
  }
  assert.ok(Buffer.concat(parts).equals(full.body), 'the ranges put together are the full file');

  // Open-ended and past-the-end ranges.
  const tail = await get(url, `bytes=${size - 100}-`);
  assert.equal(tail.status, 206);
  assert.equal(tail.headers.get('content-range'), `bytes ${size - 100}-${size - 1}/${size}`);
  assert.ok(tail.body.equals(full.body.subarray(size - 100)));
  const clamped = await get(url, `bytes=10-${size + 500}`);
  assert.equal(clamped.status, 206);
  assert.equal(clamped.headers.get('content-range'), `bytes 10-${size - 1}/${size}`);
  assert.ok(clamped.body.equals(full.body.subarray(10)));

  // Suffix ranges: the last N bytes (all of them when N is larger than the file).
  const suffix = await get(url, 'bytes=-500');
  assert.equal(suffix.status, 206);
  assert.equal(suffix.headers.get('content-range'), `bytes ${size - 500}-${size - 1}/${size}`);
  assert.ok(suffix.body.equals(full.body.subarray(size - 500)));

  // Nothing of the file in the range: 416 with the size.
  for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0']) {
    const r = await get(url, range);
    assert.equal(r.status, 416, range);
    assert.equal(r.headers.get('content-range'), `bytes */${size}`);
    assert.equal(r.headers.get('accept-ranges'), 'bytes');
  }

  // Several ranges at once: the whole file, as a plain 200.
  const multi = await get(url, 'bytes=0-10,20-30');
  assert.equal(multi.status, 200);
  assert.ok(multi.body.equals(full.body));

  // Ranges are playback, not downloads: only the multi-range 200 (the whole file) counted.
  for (let i = 0; i < 50 && (await downloads()) < 2; i++) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await downloads(), 2, 'no audit row per range request');
});

test('a range covering the whole file is a complete download', { skip: !ready }, async () => {
  const track = seeded.tracks[0];
  assert.ok(track);
  const url = `/api/orgs/${orgId}/sessions/${seeded.sessionId}/tracks/${track.trackId}/download`;
  const before = await downloads();
  const r = await get(url, 'bytes=0-');
  assert.equal(r.status, 206);
  assert.equal(r.headers.get('content-range'), `bytes 0-${r.body.length - 1}/${r.body.length}`);
  for (let i = 0; i < 50 && (await downloads()) === before; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await downloads(), before + 1);
});

test('Range headers as the RFC reads them', () => {
  const size = 1000;
  assert.deepEqual(parseByteRange('bytes=0-99', size), { start: 0, end: 99 });
  assert.deepEqual(parseByteRange('bytes=900-', size), { start: 900, end: 999 });
  assert.deepEqual(parseByteRange('bytes=900-5000', size), { start: 900, end: 999 });
  assert.deepEqual(parseByteRange('bytes=-100', size), { start: 900, end: 999 });
  assert.deepEqual(parseByteRange('bytes=-5000', size), { start: 0, end: 999 });
  assert.equal(parseByteRange('bytes=1000-', size), 'unsatisfiable');
  assert.equal(parseByteRange('bytes=-0', size), 'unsatisfiable');
  assert.equal(parseByteRange('bytes=0-', 0), 'unsatisfiable');
  // Ignored (the whole file is sent): none, malformed, another unit, several ranges, end before start.
  for (const h of [undefined, '', 'bytes=', 'bytes=-', 'items=0-1', 'bytes=0-1,5-6', 'bytes=50-10', 'bytes=a-b'])
    assert.equal(parseByteRange(h, size), undefined, String(h));
});
