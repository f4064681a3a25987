/**
 * `npm run bench:capture`: how many concurrent Opus tracks one SFU process captures and
 * seals with no lost chunk, and what sealing costs next to capture alone.
 *
 * Real parts: a mediasoup worker, producers on a DirectTransport fed Opus-sized RTP at 50
 * packets/s per track (20 ms frames), the production capture path (DirectTransport
 * consumer → TrackCapture → chunk container → AES-256-GCM seal → local object store). Only
 * the chunk metadata goes to an in-memory sink instead of Postgres, so the figure is the
 * SFU process's own CPU. CPU = this Node process + the worker (getResourceUsage); it
 * includes generating the packets in Node, so the tracks/core figure is conservative.
 * Last line: `capture: N tracks/core, seal overhead X%`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';
import { TrackCapture, type ChunkSink, type Sealer } from '../sfu/capture/TrackCapture.ts';
import { MEDIA_CODECS } from '../sfu/Room.ts';
import { LocalObjectStore } from '../lib/storage/LocalObjectStore.ts';
import { sealChunk } from '../lib/chunks/seal.ts';
import { parseConfig } from '../server/core/config.ts';

const workerBin = process.env.MEDIASOUP_WORKER_BIN;
// The product's default chunk length (CHUNK_SECONDS), so the figure is the shipped cost.
const CHUNK_MS = parseConfig({}).sfu.chunkMs;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const LEVELS = (process.env.BENCH_TRACKS ?? '50,100,200,400').split(',').map(Number);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-capture-'));

interface Result {
  tracks: number;
  cpuPerSec: number;
  chunks: number;
  expectedChunks: number;
  lost: number;
  packets: number;
  sent: number;
  elapsed: number;
}

async function run(worker: ms.Worker, tracks: number, seal: Sealer): Promise<Result> {
  const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  const send = await router.createDirectTransport();
  const capture = await router.createDirectTransport();
  const store = new LocalObjectStore({ root: path.join(dir, randomUUID()) });
  let chunks = 0;
  let lost = 0;
  let packets = 0;
  const sink: ChunkSink = {
    putChunk: async (_org, _session, sealed, rec) => {
      await store.put(rec.objectKey, sealed);
      chunks++;
      packets += rec.packets;
    },
    closeTrack: () => Promise.resolve(),
  };
  const key = randomBytes(32);
  const producers: ms.Producer[] = [];
  const captures: TrackCapture[] = [];
  for (let i = 0; i < tracks; i++) {
    const ssrc = 1000 + i;
    const producer = await send.produce({
      kind: 'audio',
      rtpParameters: {
        codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 111 }],
        encodings: [{ ssrc }],
      },
    });
    producers.push(producer);
    const c = await TrackCapture.create(capture, producer, router.rtpCapabilities, {
      orgId: randomUUID(),
      sessionId: randomUUID(),
      trackId: randomUUID(),
      meta: { kind: 'audio', payloadType: 100, clockRate: 48000, mimeType: 'audio/opus' },
      key,
      store: sink,
      chunkMs: CHUNK_MS,
      seal,
    });
    c.on('lost', () => lost++);
    captures.push(c);
  }
  // One 20 ms Opus frame per track per tick (~100 bytes of payload, as speech at 32 kb/s).
  const payload = randomBytes(100);
  let seq = 0;
  const cpu0 = process.cpuUsage();
  const w0 = await worker.getResourceUsage();
  const t0 = performance.now();
  let sent = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    const tick = performance.now();
    for (let i = 0; i < producers.length; i++) {
      const pkt = Buffer.allocUnsafe(12 + payload.length);
      pkt.writeUInt8(0x80, 0);
      pkt.writeUInt8(111, 1);
      pkt.writeUInt16BE(seq & 0xffff, 2);
      pkt.writeUInt32BE((seq * 960) >>> 0, 4);
      pkt.writeUInt32BE(1000 + i, 8);
      payload.copy(pkt, 12);
      producers[i]!.send(pkt);
      sent++;
    }
    seq++;
    const wait = 20 - (performance.now() - tick);
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
  }
  const elapsed0 = performance.now();
  // Let packets in flight through the worker arrive before capture closes.
  await new Promise((r) => setTimeout(r, 300));
  await Promise.all(captures.map((c) => c.close()));
  const elapsed = (elapsed0 - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const w1 = await worker.getResourceUsage();
  const workerCpu = (w1.ru_utime + w1.ru_stime - w0.ru_utime - w0.ru_stime) / 1000;
  const nodeCpu = (cpu.user + cpu.system) / 1e6;
  const total = (performance.now() - t0) / 1000;
  router.close();
  const expected = tracks * Math.floor((elapsed * 1000) / CHUNK_MS);
  return {
    tracks,
    cpuPerSec: (nodeCpu + workerCpu) / total,
    chunks,
    expectedChunks: expected,
    lost,
    packets,
    sent,
    elapsed: total,
  };
}

if (!workerBin || !fs.existsSync(workerBin)) {
  console.log('capture: SKIPPED (set MEDIASOUP_WORKER_BIN to a mediasoup worker binary)');
  process.exit(0);
}
const worker = await mediasoup.createWorker({ workerBin, logLevel: 'error' });
// Sealing's CPU is measured inside the same run (thread CPU time around each seal call),
// so other load on the machine cannot skew the comparison with capture alone.
let sealCpuUs = 0;
const measuredSeal: Sealer = (k, b, p) => {
  const c0 = process.threadCpuUsage();
  const out = sealChunk(k, b, p);
  const c1 = process.threadCpuUsage(c0);
  sealCpuUs += c1.user + c1.system;
  return out;
};
await run(worker, LEVELS[0] ?? 50, measuredSeal); // warm-up (discarded): JIT the capture path
let best = 0;
let overhead = 0;
for (const n of LEVELS) {
  sealCpuUs = 0;
  const r = await run(worker, n, measuredSeal);
  const sealCores = sealCpuUs / 1e6 / r.elapsed;
  const captureCores = r.cpuPerSec - sealCores;
  const pct = (sealCores / captureCores) * 100;
  // In-process delivery is lossless: any packet not in a stored chunk was dropped by capture.
  const ok = r.lost === 0 && r.chunks >= r.expectedChunks && r.packets === r.sent;
  console.log(
    `${n} tracks: ${r.cpuPerSec.toFixed(3)} cores in all (capture ${captureCores.toFixed(3)}, sealing ${sealCores.toFixed(4)}: +${pct.toFixed(2)}%), chunks ${r.chunks} (>= ${r.expectedChunks}), packets ${r.packets}/${r.sent}, lost chunks ${r.lost}${ok ? '' : '  <- losing'}`,
  );
  if (!ok) break;
  best = Math.max(best, Math.floor(n / Math.max(r.cpuPerSec, 1e-9)));
  overhead = pct;
}
worker.close();
fs.rmSync(dir, { recursive: true, force: true });
console.log(`capture: ${best} tracks/core, seal overhead ${overhead.toFixed(1)}%`);
