/**
 * `npm run bench:export`: does an organisation export keep memory flat as the org grows?
 *
 * Seeds two organisations of sealed media in the real format (synthetic Opus RTP in RCK1
 * chunks, sealed with AES-256-GCM under wrapped session keys, stored and recorded through
 * the SFU's CaptureStore): 100 MB (one session, two 50 MB tracks) and 1 GB (ten such
 * sessions), on an embedded Postgres in a temporary DATA_DIR. Each export then runs the
 * real job (archive → age X25519 → object storage, in the export's worker thread with its
 * bounded heap) in a fresh child process started without V8 flags, as the product ships,
 * which reports its peak RSS (getrusage maxrss, the whole process) and throughput. The last line reads
 * `export: X MB/s, peak RSS Y MB at 100 MB, Z MB at 1 GB`; the target is Z within 10% of Y
 * (exit 1 otherwise). Options: `--small MB` and `--large MB` change the two sizes.
 */
import { freePort } from '../lib/freePort.ts';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import pg from 'pg';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { parseConfig, type Config } from '../server/core/config.ts';
import { configureLogger } from '../server/core/logger.ts';
import { openDeps } from '../server/core/deps.ts';
import { withRequest } from '../server/core/db/pool.ts';
import type { Deps } from '../server/core/context.ts';
import { createExport, exportsIdle } from '../server/services/export.ts';
import { CaptureStore, chunkRecord } from '../sfu/capture/CaptureStore.ts';
import { encodeChunk, type ChunkMeta, type RtpRecord } from '../lib/chunks/container.ts';
import { sealChunk } from '../lib/chunks/seal.ts';

const { values: args } = parseArgs({
  options: {
    child: { type: 'string' },
    small: { type: 'string', default: '100' },
    large: { type: 'string', default: '1000' },
  },
});
const SECRET = 'bench-export-server-secret-0123456789abcdef';
const TRACK_MB = 50;
const PAYLOAD = 320; // bytes per 20 ms Opus frame: 128 kbit/s
const CHUNK_PACKETS = 200; // 4 s per chunk, the SFU's default CHUNK_SECONDS

/** The benchmark's Config: the embedded Postgres on `pgPort` (parent), or `databaseUrl` (child). */
function configFor(dataDir: string, db: { url: string } | { pgPort: number }): Config {
  return parseConfig({
    NODE_ENV: 'production',
    DATA_DIR: dataDir,
    ...('url' in db ? { DATABASE_URL: db.url } : { EMBEDDED_PG_PORT: String(db.pgPort) }),
    SERVER_SECRET: SECRET,
    LOG_LEVEL: 'silent',
    SFU: 'off',
    JOBS: 'off',
  });
}

/** Child: runs one export job of `org` as its owner and reports peak RSS. */
async function child(spec: {
  dataDir: string;
  ownerUrl: string;
  org: string;
  user: string;
  recipient: string;
}): Promise<void> {
  configureLogger('silent', 'json');
  // Attached to the parent's embedded Postgres: its roles' passwords are files in DATA_DIR/secrets.
  const opened = await openDeps(configFor(spec.dataDir, { pgPort: Number(new URL(spec.ownerUrl).port) }), {
    embedded: 'attach',
    poolSize: 4,
  });
  const { deps } = opened;
  // The export is requested as the API does it: inside a request proven with the owner's
  // session token (app.begin_request), minted here through the owner connection.
  const token = randomBytes(32).toString('base64url');
  const minter = new pg.Client({ connectionString: spec.ownerUrl });
  await minter.connect();
  await minter.query(
    `insert into auth_sessions (user_id, token_hash, expires_at)
     values ($1, sha256(convert_to($2, 'UTF8')), now() + interval '1 day')`,
    [spec.user, token],
  );
  await minter.end();
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const trace = process.env.BENCH_MEM_TRACE
    ? setInterval(() => {
        const m = process.memoryUsage();
        const spaces = v8
          .getHeapSpaceStatistics()
          .filter((x) => x.space_size > 1e6)
          .map((x) => `${x.space_name.replace('_space', '')} ${(x.space_size / 1e6).toFixed(0)}`)
          .join(', ');
        process.stderr.write(
          `rss ${(m.rss / 1e6).toFixed(0)} MB, heap used ${(m.heapUsed / 1e6).toFixed(0)} of ${(m.heapTotal / 1e6).toFixed(0)} (${spaces}), buffers ${(m.arrayBuffers / 1e6).toFixed(0)}\n`,
        );
      }, 1000)
    : undefined;
  const job = await withRequest(deps.db.app, { token, orgId: spec.org, idleS: deps.config.sessionIdleTtlS }, () =>
    createExport(
      deps,
      { id: spec.user, email: 'bench@example.com', displayName: null, authSessionId: randomUUID() },
      spec.org,
      'owner',
      { kind: 'x25519', recipient: spec.recipient },
    ),
  );
  await exportsIdle(deps);
  clearInterval(trace);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // CPU time of the whole process (the export's worker thread included): the figure that
  // does not depend on what else the machine is running.
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const c = new pg.Client({ connectionString: spec.ownerUrl });
  await c.connect();
  const row = (
    await c.query<{ status: string; size_bytes: string; error_code: string | null }>(
      'select status, size_bytes, error_code from export_jobs where id = $1',
      [job.id],
    )
  ).rows[0];
  await c.end();
  process.stdout.write(
    `${JSON.stringify({ status: row?.status, error: row?.error_code, size: Number(row?.size_bytes), seconds, cpuSeconds, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
  );
  await opened.close();
}

/** Synthetic Opus RTP: valid headers and TOC (CELT FB 20 ms), random frame bytes. */
function* opusPackets(count: number, startUs: bigint): Generator<RtpRecord> {
  const pool = randomBytes(1 << 20);
  const ssrc = randomBytes(4).readUInt32BE(0);
  for (let i = 0; i < count; i++) {
    const p = Buffer.allocUnsafe(12 + PAYLOAD);
    p[0] = 0x80;
    p[1] = 111;
    p.writeUInt16BE(i & 0xffff, 2);
    p.writeUInt32BE((i * 960) >>> 0, 4);
    p.writeUInt32BE(ssrc, 8);
    p[12] = 0xf8;
    const at = (i * 7919) % (pool.length - PAYLOAD);
    pool.copy(p, 13, at, at + PAYLOAD - 1);
    yield { arrivalUs: startUs + BigInt(i) * 20_000n, packet: p };
  }
}

/** Seeds an org of about `mb` MB of sealed media; returns its id and owner. */
async function seedOrg(
  deps: Deps,
  owner: pg.Client,
  name: string,
  mb: number,
): Promise<{ org: string; user: string; bytes: number }> {
  const user =
    (await owner.query<{ id: string }>(`insert into users (email) values ($1) returning id`, [`${name}@bench.example`]))
      .rows[0]?.id ?? '';
  const org =
    (await owner.query<{ id: string }>(`insert into organizations (name) values ($1) returning id`, [name])).rows[0]
      ?.id ?? '';
  await owner.query(`insert into memberships (organization_id, user_id, role) values ($1, $2, 'owner')`, [org, user]);
  const store = new CaptureStore(deps.db.sfu, deps.storage.objectStore, deps.storage.keyProvider);
  const meta: ChunkMeta = { kind: 'audio', payloadType: 111, clockRate: 48000, mimeType: 'audio/opus' };
  const packetsPerTrack = Math.round((TRACK_MB * 1e6) / (PAYLOAD + 22));
  let bytes = 0;
  for (let s = 0; s < Math.max(1, Math.round(mb / (2 * TRACK_MB))); s++) {
    const id = randomUUID();
    const dk = await deps.storage.keyProvider.generateDataKey({ organizationId: org, sessionId: id });
    await owner.query(
      `insert into recording_sessions (id, organization_id, title, created_by, guest_token_hash, wrapped_key)
       values ($1, $2, $3, $4, $5, $6)`,
      [id, org, `Session ${s + 1}`, user, randomBytes(32), JSON.stringify(dk.wrapped)],
    );
    const startMs = Date.now() - 3_600_000;
    const take = await store.startTake(org, id, null, new Date(startMs));
    for (const who of ['Host', 'Guest']) {
      const pid =
        (
          await owner.query<{ id: string }>(
            `insert into participants (organization_id, session_id, display_name, role)
             values ($1, $2, $3, 'guest') returning id`,
            [org, id, who],
          )
        ).rows[0]?.id ?? '';
      const trackId = await store.openTrack(org, id, {
        takeId: take.takeId,
        participantId: pid,
        ...meta,
        producerId: who,
        startedAt: new Date(startMs),
      });
      let chunk: RtpRecord[] = [];
      let seq = 0;
      const flush = async () => {
        const sealed = sealChunk(
          dk.plaintext,
          { organizationId: org, sessionId: id, trackId, seq },
          encodeChunk(meta, chunk),
        );
        if (!chunk.length) return;
        await store.putChunk(org, id, sealed, chunkRecord({ orgId: org, sessionId: id, trackId, seq }, sealed, chunk));
        bytes += sealed.length;
        seq++;
        chunk = [];
      };
      for (const r of opusPackets(packetsPerTrack, BigInt(startMs) * 1000n)) {
        chunk.push(r);
        if (chunk.length === CHUNK_PACKETS) await flush();
      }
      await flush();
      await store.closeTrack(org, id, trackId, new Date(startMs + packetsPerTrack * 20), 0);
    }
    dk.plaintext.fill(0);
    await store.stopTake(org, id, take.takeId, null, new Date(startMs + packetsPerTrack * 20));
    await store.endSession(org, id, null);
  }
  return { org, user, bytes };
}

function runChild(spec: Record<string, string>): Promise<{
  status: string;
  error: string | null;
  size: number;
  seconds: number;
  cpuSeconds: number;
  maxRssMb: number;
}> {
  return new Promise((resolve, reject) => {
    // No V8 flags by default: the product bounds an export's heap itself (its worker
    // thread's resourceLimits, server/services/export.ts), so the child runs as shipped.
    // EXPORT_CHILD_FLAGS adds node flags to try other settings.
    const c = spawn(
      process.execPath,
      [
        ...(process.env.EXPORT_CHILD_FLAGS ?? '').split(' ').filter(Boolean),
        import.meta.filename,
        '--child',
        JSON.stringify(spec),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}'))
        : reject(new Error(`export child exited ${code}`)),
    );
  });
}

async function main(): Promise<void> {
  configureLogger('silent', 'json');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-export-'));
  fs.chmodSync(dataDir, 0o711); // embedded Postgres runs as another user below it
  const opened = await openDeps(configFor(dataDir, { pgPort: await freePort() }), {
    embedded: 'start',
    migrate: true,
    poolSize: 4,
  });
  const { deps } = opened;
  const ownerUrl = deps.db.urls.owner;
  try {
    const owner = new pg.Client({ connectionString: ownerUrl });
    await owner.connect();
    const identity = await generateX25519Identity();
    const recipient = await identityToRecipient(identity);
    const results: { mb: number; maxRssMb: number; mbps: number }[] = [];
    for (const mb of [Number(args.small), Number(args.large)]) {
      const t0 = Date.now();
      const seeded = await seedOrg(deps, owner, `org${mb}`, mb);
      console.log(
        `seeded ${(seeded.bytes / 1e6).toFixed(0)} MB of sealed media in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      const r = await runChild({
        dataDir,
        ownerUrl,
        org: seeded.org,
        user: seeded.user,
        recipient,
      });
      if (r.status !== 'done') throw new Error(`export ${r.status}: ${r.error}`);
      const mbps = seeded.bytes / 1e6 / r.seconds;
      console.log(
        `${mb} MB org: exported ${(r.size / 1e6).toFixed(0)} MB (age) in ${r.seconds.toFixed(1)} s, ${mbps.toFixed(1)} MB/s, CPU ${r.cpuSeconds.toFixed(1)} s (${(r.cpuSeconds / (seeded.bytes / 1e9)).toFixed(1)} s/GB), peak RSS ${r.maxRssMb.toFixed(0)} MB`,
      );
      results.push({ mb, maxRssMb: r.maxRssMb, mbps });
      await fs.promises.rm(path.join(dataDir, 'objects', 'orgs', seeded.org), { recursive: true, force: true });
    }
    await owner.end();
    const [small, large] = results as [(typeof results)[0], (typeof results)[0]];
    const flat = large.maxRssMb <= small.maxRssMb * 1.1;
    console.log(
      flat
        ? 'memory is flat: within 10%'
        : `MEMORY GREW: ${((large.maxRssMb / small.maxRssMb - 1) * 100).toFixed(0)}% more at ${large.mb} MB`,
    );
    console.log(
      `export: ${large.mbps.toFixed(1)} MB/s, peak RSS ${small.maxRssMb.toFixed(0)} MB at ${small.mb === 100 ? '100 MB' : `${small.mb} MB`}, ${large.maxRssMb.toFixed(0)} MB at ${large.mb === 1000 ? '1 GB' : `${large.mb} MB`}`,
    );
    process.exitCode = flat ? 0 : 1;
  } finally {
    await opened.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (args.child) await child(JSON.parse(args.child));
else await main();
