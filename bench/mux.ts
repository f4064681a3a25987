/**
 * `node bench/mux.ts [--mb 50]`: how fast does one audio track mux? Builds a synthetic
 * Opus track (the same packets as bench/export.ts: 320-byte CELT frames, 200 per chunk) as
 * chunk plaintexts, then times decoding the chunks and muxing them to Ogg Opus, the work a
 * download or an export does per track after decryption. Prints MB/s of chunk plaintext.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { decodeChunk, encodeChunk, type ChunkMeta, type RtpRecord } from '../lib/chunks/container.ts';
import { muxTrack } from '../lib/media/index.ts';

const { values: args } = parseArgs({
  options: { mb: { type: 'string', default: '50' }, runs: { type: 'string', default: '3' } },
});
const PAYLOAD = 320;
const CHUNK_PACKETS = 200;
const meta: ChunkMeta = { kind: 'audio', payloadType: 111, clockRate: 48000, mimeType: 'audio/opus' };

function chunks(mb: number): Buffer[] {
  const count = Math.round((mb * 1e6) / (PAYLOAD + 22));
  const pool = randomBytes(1 << 20);
  const startUs = BigInt(Date.now()) * 1000n;
  const out: Buffer[] = [];
  let batch: RtpRecord[] = [];
  for (let i = 0; i < count; i++) {
    const p = Buffer.allocUnsafe(12 + PAYLOAD);
    p[0] = 0x80;
    p[1] = 111;
    p.writeUInt16BE(i & 0xffff, 2);
    p.writeUInt32BE((i * 960) >>> 0, 4);
    p.writeUInt32BE(0x12345678, 8);
    p[12] = 0xf8;
    const at = (i * 7919) % (pool.length - PAYLOAD);
    pool.copy(p, 13, at, at + PAYLOAD - 1);
    batch.push({ arrivalUs: startUs + BigInt(i) * 20_000n, packet: p });
    if (batch.length === CHUNK_PACKETS || i === count - 1) {
      out.push(encodeChunk(meta, batch));
      batch = [];
    }
  }
  return out;
}

const plain = chunks(Number(args.mb));
const bytes = plain.reduce((n, c) => n + c.length, 0);
for (let run = 0; run < Number(args.runs); run++) {
  const t0 = performance.now();
  // eslint-disable-next-line @typescript-eslint/require-await -- stands in for the chunk reader, which awaits storage
  async function* records(): AsyncGenerator<RtpRecord[]> {
    for (const c of plain) yield decodeChunk(c).records;
  }
  let out = 0;
  for await (const b of muxTrack(meta, records()).body) out += b.length;
  const s = (performance.now() - t0) / 1000;
  console.log(
    `mux: ${(bytes / 1e6 / s).toFixed(1)} MB/s (${(bytes / 1e6).toFixed(0)} MB of chunks → ${(out / 1e6).toFixed(0)} MB Ogg in ${s.toFixed(2)} s)`,
  );
}
