/**
 * `npm run bench:seal`: AES-256-GCM sealing throughput of the chunk envelope (lib/chunks/seal.ts)
 * on this machine, for chunk sizes around a 4-second chunk of 20 ms Opus frames (200 frames,
 * 16–32 KB). Prints MB/s and µs per chunk for sealing and opening; feeds the capture benchmark.
 * Options: `--seconds N` per measurement (default 1).
 */
import { createSecretKey, randomBytes } from 'node:crypto';
import os from 'node:os';
import { openChunk, sealChunk, SEAL_OVERHEAD, type ChunkBinding } from '../lib/chunks/seal.ts';

const secondsArg = process.argv.indexOf('--seconds');
const seconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 1;
const rawKey = randomBytes(32);
const key = createSecretKey(rawKey); // as the SFU holds it while recording
const binding = (seq: number): ChunkBinding => ({
  organizationId: '3f1c2d9e-0000-4000-8000-000000000001',
  sessionId: '3f1c2d9e-0000-4000-8000-000000000002',
  trackId: '3f1c2d9e-0000-4000-8000-000000000003',
  seq,
});

interface Row {
  chunk: string;
  bytes: number;
  op: string;
  chunks: number;
  'MB/s': string;
  'µs/chunk': string;
}

function measure(label: string, bytes: number, op: 'seal' | 'open' | 'seal, Buffer key'): Row {
  const plain = randomBytes(bytes);
  const sealed = sealChunk(key, binding(0), plain);
  const run =
    op === 'open'
      ? () => openChunk(key, binding(0), sealed)
      : op === 'seal'
        ? (seq: number) => sealChunk(key, binding(seq), plain)
        : (seq: number) => sealChunk(rawKey, binding(seq), plain);
  for (let i = 0; i < 200; i++) run(i); // warm up
  let n = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 100; i++) run(n++);
    elapsed = process.hrtime.bigint() - start;
  }
  const s = Number(elapsed) / 1e9;
  return {
    chunk: label,
    bytes,
    op,
    chunks: n,
    'MB/s': ((n * bytes) / s / 1e6).toFixed(0),
    'µs/chunk': ((s / n) * 1e6).toFixed(1),
  };
}

// 20 ms Opus frames at 32, 48 and 64 kbit/s are 80, 120 and 160 bytes; 200 of them per 4 s chunk.
const sizes: [string, number][] = [
  ['1 frame (20 ms, 64 kbit/s)', 160],
  ['4 s @ 32 kbit/s', 16_000],
  ['4 s @ 48 kbit/s', 24_000],
  ['4 s @ 64 kbit/s', 32_000],
  ['1 MiB', 1 << 20],
];
const rows: Row[] = [];
for (const [label, bytes] of sizes) for (const op of ['seal', 'open'] as const) rows.push(measure(label, bytes, op));
rows.push(measure('4 s @ 64 kbit/s', 32_000, 'seal, Buffer key'));
console.log(
  `AES-256-GCM chunk sealing, node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, one core, ${seconds}s per row, load average ${os.loadavg()[0]?.toFixed(1)}, envelope overhead ${SEAL_OVERHEAD} B`,
);
console.table(rows);
const perChunk = rows.find((r) => r.chunk === '4 s @ 64 kbit/s' && r.op === 'seal');
if (perChunk) {
  const us = Number(perChunk['µs/chunk']);
  console.log(
    `One core seals ~${Math.floor(4e6 / us).toLocaleString('en')} concurrent 64 kbit/s tracks (4 s chunks) at 100% CPU.`,
  );
}
