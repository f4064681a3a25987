// A transcription worker is a separate process (server/jobs/main.ts) that can die at any
// moment (a pre-empted GPU host). Killed with SIGKILL in the middle of a job, its run's
// lease lapses, the run is handed back, and another worker finishes it: once, with one
// transcript. Stopped with SIGTERM, a worker hands its job back at once and exits cleanly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { childEnv, startTestServer, type TestServer } from './helpers/server.ts';
import { missingMediaTools } from './helpers/media.ts';
import { prerequisites } from './helpers/tools.ts';
import { MODEL_DIR, MODEL_NAME, recordSession, waitForTranscript, type TrackPlan } from './helpers/transcription.ts';
import type { HttpClient } from './helpers/http.ts';

const ready = prerequisites('transcription worker kill tests', [
  ...missingMediaTools(),
  !fs.existsSync(path.join(MODEL_DIR, MODEL_NAME, 'config.json')) && `the test model ../shared/models/${MODEL_NAME}`,
]);
const root = path.resolve(import.meta.dirname, '..');
const LEASE_S = '4';

let ts: TestServer;
let owner: HttpClient;
let orgId: string;
let sql: pg.Client;
const workers: { child: ChildProcess; output: string[] }[] = [];

before(async () => {
  if (!ready) return;
  ts = await startTestServer({ JOBS: 'off', MODEL_DIR, TRANSCRIBE_MODEL: MODEL_NAME, TRANSCRIBE_LEASE_S: LEASE_S });
  owner = await ts.signIn('host@example.com');
  orgId = ((await owner.post('/api/orgs', { name: 'Pre-empted' })).body as { id: string }).id;
  sql = new pg.Client({ connectionString: ts.db.ownerUrl });
  await sql.connect();
});
after(async () => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await sql?.end();
  await ts?.close();
});

/** Starts `node server/jobs/main.ts` on the test's database, storage and secrets. */
async function startWorker(): Promise<{ child: ChildProcess; output: string[] }> {
  const child = spawn(process.execPath, ['server/jobs/main.ts'], {
    cwd: root,
    env: childEnv(ts, {
      MODEL_DIR,
      TRANSCRIBE_MODEL: MODEL_NAME,
      TRANSCRIBE_DEVICE: 'cpu',
      TRANSCRIBE_LEASE_S: LEASE_S,
      JOBS_POLL_INTERVAL_MS: '200',
      LOG_LEVEL: 'info',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const w = { child, output: [] as string[] };
  workers.push(w);
  child.stdout?.on('data', (d: Buffer) => w.output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => w.output.push(d.toString()));
  const until = Date.now() + 60_000;
  while (!w.output.join('').includes('job worker started')) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`worker did not start: ${w.output.join('')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return w;
}

interface RunState {
  id: string;
  status: string;
  stage: string | null;
  attempts: number;
  error_code: string | null;
  transcripts: number;
}
async function runState(sessionId: string): Promise<RunState | undefined> {
  const r = await sql.query<RunState>(
    `select r.id, r.status, r.stage, r.attempts, r.error_code,
            (select count(*)::int from transcripts t where t.run_id = r.id) as transcripts
       from transcription_runs r where r.session_id = $1 order by r.created_at desc limit 1`,
    [sessionId],
  );
  return r.rows[0];
}

/** Waits until the run is in the model stage (mid-job) and returns its state. */
async function midJob(sessionId: string): Promise<RunState> {
  const until = Date.now() + 90_000;
  for (;;) {
    const s = await runState(sessionId);
    if (s?.status === 'running' && s.stage === 'model') return s;
    assert.notEqual(s?.status, 'done', 'the job finished before it could be interrupted');
    if (Date.now() > until) throw new Error(`never saw the run mid-job: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// Several utterances per speaker, far enough apart to be separate speech windows: the model
// stage lasts long enough to be interrupted.
const long: TrackPlan[] = [
  {
    speaker: 'Ada',
    utterances: [
      { file: '0870', atS: 0.5 },
      { file: '0880', atS: 11 },
      { file: '0890', atS: 18 },
      { file: '0930', atS: 27 },
      { file: '0920', atS: 34 },
    ],
  },
  {
    speaker: 'Ben',
    utterances: [
      { file: '0880', atS: 2 },
      { file: '0920', atS: 8 },
      { file: '0870', atS: 18 },
      { file: '0930', atS: 29 },
      { file: '0890', atS: 36 },
    ],
  },
];

test(
  'SIGKILL mid-job: the lease lapses, another worker retries, and the run ends with exactly one transcript',
  { skip: !ready, timeout: 240_000 },
  async () => {
    const a = await startWorker();
    const rec = await recordSession(ts, owner, orgId, long);
    const during = await midJob(rec.sessionId);
    assert.equal(during.attempts, 1);
    a.child.kill('SIGKILL');
    await new Promise((r) => a.child.once('exit', r));
    assert.equal((await runState(rec.sessionId))?.transcripts, 0, 'nothing was stored by the killed attempt');

    const b = await startWorker();
    const done = (await waitForTranscript(owner, orgId, rec.sessionId, 120_000)) as {
      status: string;
      transcript: { segments: unknown[] } | null;
    };
    assert.equal(done.status, 'done');
    assert.ok((done.transcript?.segments.length ?? 0) > 0);
    const after = await runState(rec.sessionId);
    assert.equal(after?.attempts, 2, 'retried once, after the lease lapsed');
    assert.equal(after?.transcripts, 1);
    const all = await sql.query<{ n: number }>(`select count(*)::int as n from transcripts where session_id = $1`, [
      rec.sessionId,
    ]);
    assert.equal(all.rows[0]?.n, 1, 'one transcript for the session');
    const objects = fs
      .readdirSync(path.join(ts.dataDir, 'objects'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.includes(`${rec.sessionId}/transcripts/`));
    assert.equal(objects.length, 1, 'one sealed transcript object');
    assert.ok(b.output.join('').includes('handed back to the queue'), 'the surviving worker says it took the run back');
    // The workers' output never carries transcript text.
    const res = await owner.get(`/api/orgs/${orgId}/sessions/${rec.sessionId}/transcript`);
    const texts = (res.body as { transcript: { segments: { text: string }[] } }).transcript.segments
      .map((s) => s.text.trim())
      .filter((t) => t.length >= 8);
    const output = [...a.output, ...b.output].join('');
    for (const t of texts) assert.ok(!output.includes(t), 'no transcript text in worker output');
    b.child.kill('SIGTERM');
    await new Promise((r) => b.child.once('exit', r));
  },
);

test(
  'SIGTERM mid-job: the worker hands the job back at once and exits 0; the next worker finishes it',
  { skip: !ready, timeout: 240_000 },
  async () => {
    const a = await startWorker();
    const rec = await recordSession(ts, owner, orgId, long);
    await midJob(rec.sessionId);
    const t0 = Date.now();
    a.child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => a.child.once('exit', (c) => r(c)));
    assert.equal(code, 0);
    const handed = await runState(rec.sessionId);
    assert.equal(handed?.status, 'queued', 'handed back without waiting for the lease');
    assert.equal(handed?.error_code, 'worker_stopped');
    assert.ok(Date.now() - t0 < 15_000);
    const b = await startWorker();
    const done = (await waitForTranscript(owner, orgId, rec.sessionId, 30_000).catch(async (err: unknown) => {
      const jobs = await sql.query(
        `select id, key, attempts, max_attempts, locked_by, locked_at, run_at, now() as now, last_error
           from graphile_worker.jobs`,
      );
      throw new Error(
        `jobs: ${JSON.stringify(jobs.rows)} worker output:\n${a.output.join('')}\n---\n${b.output.join('')}`,
        { cause: err },
      );
    })) as { status: string };
    assert.equal(done.status, 'done');
    assert.equal((await runState(rec.sessionId))?.transcripts, 1);
    b.child.kill('SIGTERM');
    await new Promise((r) => b.child.once('exit', r));
  },
);
