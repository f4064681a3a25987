/**
 * `npm run bench:private`: how fast a browser opens a private-mode recording, and how much
 * of the tab's memory it takes.
 *
 * Makes a one-hour Opus track in the real stored format (synthetic Opus RTP at `--kbps`,
 * 4-second RCK1 chunks sealed with AES-256-GCM under a session key), an org key pair whose
 * private half is wrapped under a passphrase (PBKDF2-SHA-256, 600,000 iterations), and the
 * session key wrapped to it (ECIES), all with lib/private/crypto.ts. A loopback HTTP server
 * answers the product's private-mode routes with them, and real Chromium runs the product's
 * own page code (web-src/private/reader.ts, bundled with the same esbuild options and Buffer
 * stand-in as the app): unlock with the passphrase, then fetch, decrypt and mux the whole
 * track into a Blob, as the session page's Download does. Meanwhile the tab's JS heap is
 * sampled every 50 ms through the DevTools protocol (Performance.getMetrics). Prints the
 * unlock time, decryption MB/s (sealed bytes per second, fetch + decrypt + mux), the file
 * size, the peak JS heap against the heap before decrypting, and (Linux) the renderer
 * process's peak resident memory, and the same work done the server's way in Node for
 * reference. The last line reads `private: X MB/s for a 60-minute Opus track, tab JS heap
 * peak Y MB (Z MB before), renderer peak RSS W MB`.
 * Options: `--minutes` (default 60), `--kbps` (default 64).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { freePort } from '../lib/freePort.ts';
import { encodeChunk, type ChunkMeta, type RtpRecord } from '../lib/chunks/container.ts';
import { createSecretKey } from 'node:crypto';
import { openChunk, sealChunk } from '../lib/chunks/seal.ts';
import { decodeChunk } from '../lib/chunks/container.ts';
import { muxTrack } from '../lib/media/index.ts';
import { generateOrgKeyPair, wrapOrgPrivateKey, wrapSessionKey } from '../lib/private/crypto.ts';

const { values: args } = parseArgs({
  options: { minutes: { type: 'string', default: '60' }, kbps: { type: 'string', default: '64' } },
});
const MINUTES = Number(args.minutes);
const PAYLOAD = Math.round((Number(args.kbps) * 1000 * 0.02) / 8); // bytes per 20 ms frame
const CHUNK_PACKETS = 200; // 4 s, the SFU's default chunk
const PASSPHRASE = 'bench passphrase';
const root = path.resolve(import.meta.dirname, '..');

/** Synthetic Opus RTP: valid headers and TOC (CELT FB 20 ms), random frame bytes. */
function opusPacket(i: number, ssrc: number, pool: Buffer): Buffer {
  const p = Buffer.allocUnsafe(12 + PAYLOAD);
  p[0] = 0x80;
  p[1] = 111;
  p.writeUInt16BE(i & 0xffff, 2);
  p.writeUInt32BE((i * 960) >>> 0, 4);
  p.writeUInt32BE(ssrc, 8);
  p[12] = 0xf8;
  const at = (i * 7919) % (pool.length - PAYLOAD);
  pool.copy(p, 13, at, at + PAYLOAD - 1);
  return p;
}

async function main(): Promise<void> {
  const orgId = randomUUID();
  const sessionId = randomUUID();
  const trackId = randomUUID();
  const meta: ChunkMeta = { kind: 'audio', payloadType: 111, clockRate: 48000, mimeType: 'audio/opus' };
  const dataKey = randomBytes(32);
  const pool = randomBytes(1 << 20);
  const ssrc = pool.readUInt32BE(0);
  const startMs = Date.now() - MINUTES * 60_000;
  const packets = MINUTES * 60 * 50;
  const chunks: Buffer[] = [];
  for (let from = 0; from < packets; from += CHUNK_PACKETS) {
    const records: RtpRecord[] = [];
    for (let i = from; i < Math.min(packets, from + CHUNK_PACKETS); i++)
      records.push({ arrivalUs: BigInt(startMs) * 1000n + BigInt(i) * 20_000n, packet: opusPacket(i, ssrc, pool) });
    chunks.push(
      sealChunk(dataKey, { organizationId: orgId, sessionId, trackId, seq: chunks.length }, encodeChunk(meta, records)),
    );
  }
  const sealedBytes = chunks.reduce((n, c) => n + c.length, 0);
  const pair = await generateOrgKeyPair();
  const myKey = await wrapOrgPrivateKey(pair.privateKey, PASSPHRASE, orgId);
  const sessionKey = await wrapSessionKey(new Uint8Array(pair.publicKey), new Uint8Array(dataKey), orgId, sessionId);
  const sealed = {
    organization_id: orgId,
    session_id: sessionId,
    sealed_at: new Date().toISOString(),
    private_wrapped_key: sessionKey,
    tracks: [
      {
        id: trackId,
        kind: 'audio',
        participant: 'Bench',
        take: 1,
        mime_type: 'audio/opus',
        start_ms: startMs,
        end_ms: startMs + MINUTES * 60_000,
        chunks: chunks.map((c, seq) => ({ seq, size: c.length })),
      },
    ],
    transcript: null,
  };

  const bundled = await build({
    stdin: {
      contents: `import { unlockSession, decryptTrack } from './web-src/private/reader.ts';
        window.benchPrivate = async (orgId, sessionId, passphrase) => {
          const t0 = performance.now();
          const u = await unlockSession(orgId, sessionId, passphrase);
          const t1 = performance.now();
          const f = await decryptTrack(u, u.sealed.tracks[0]);
          const t2 = performance.now();
          return { unlockMs: t1 - t0, decryptMs: t2 - t1, fileBytes: f.blob.size, sealedBytes: f.sealedBytes };
        };`,
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    minify: true,
    inject: [path.join(root, 'web-src', 'private', 'buffer.ts')],
    logLevel: 'silent',
  });
  const script = bundled.outputFiles[0]?.text ?? '';
  const base = `/api/orgs/${orgId}`;
  const chunkPath = `${base}/sessions/${sessionId}/private/tracks/${trackId}/chunks`;
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const send = (type: string, body: string | Buffer) => {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (url === '/')
      send('text/html', '<!doctype html><title>bench</title><script type="module" src="/b.js"></script>');
    else if (url === '/b.js') send('text/javascript', script);
    else if (url === `${base}/private-mode`) send('application/json', JSON.stringify({ my_wrapped_key: myKey }));
    else if (url === `${base}/sessions/${sessionId}/private`) send('application/json', JSON.stringify(sealed));
    else if (url.startsWith(`${chunkPath}?`)) {
      // The range route: per chunk a u32 sequence number, a u32 length, the sealed bytes.
      const q = new URL(url, 'http://x').searchParams;
      const from = Number(q.get('from'));
      const parts: Buffer[] = [];
      for (let seq = from; seq < Math.min(chunks.length, from + Number(q.get('count'))); seq++) {
        const c = chunks[seq] ?? Buffer.alloc(0);
        const head = Buffer.allocUnsafe(8);
        head.writeUInt32BE(seq, 0);
        head.writeUInt32BE(c.length, 4);
        parts.push(head, c);
      }
      send('application/octet-stream', Buffer.concat(parts));
    } else res.writeHead(404).end();
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--enable-precise-memory-info'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => 'benchPrivate' in window);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const heap = async () => {
      const { metrics } = await cdp.send('Performance.getMetrics');
      return metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0;
    };
    await cdp.send('HeapProfiler.collectGarbage');
    const before = await heap();
    let peak = before;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await heap());
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const r = await page.evaluate(
      ([o, s, p]) =>
        (
          window as unknown as {
            benchPrivate: (
              o: string,
              s: string,
              p: string,
            ) => Promise<{ unlockMs: number; decryptMs: number; fileBytes: number; sealedBytes: number }>;
          }
        ).benchPrivate(o, s, p),
      [orgId, sessionId, PASSPHRASE] as const,
    );
    sampling = false;
    await sampler;
    const rss = rendererPeakMb();
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const rate = r.sealedBytes / 1e6 / (r.decryptMs / 1000);
    console.log(
      `track: ${MINUTES} min of Opus at ${args.kbps} kbit/s, ${chunks.length} chunks, ${mb(sealedBytes)} MB sealed`,
    );
    console.log(`unlock (PBKDF2-SHA-256 600,000 iterations, ECIES unwrap): ${r.unlockMs.toFixed(0)} ms`);
    console.log(
      `decrypt + mux: ${(r.decryptMs / 1000).toFixed(2)} s for ${mb(r.sealedBytes)} MB sealed → ${mb(r.fileBytes)} MB Ogg Opus`,
    );
    if (rss !== undefined) console.log(`tab renderer process peak RSS (VmHWM): ${rss.toFixed(0)} MB`);
    const node = await nodeReference(chunks, dataKey, { organizationId: orgId, sessionId, trackId }, meta, startMs);
    console.log(
      `the server's path in Node on this machine (reference): ${(sealedBytes / 1e6 / node.seconds).toFixed(1)} MB/s, ${mb(node.bytes)} MB Ogg Opus${node.bytes === r.fileBytes ? " (same size as the page's)" : " (SIZE DIFFERS from the page's)"}`,
    );
    console.log(
      `private: ${rate.toFixed(1)} MB/s for a ${MINUTES}-minute Opus track, tab JS heap peak ${mb(peak)} MB (${mb(before)} MB before)${rss !== undefined ? `, renderer peak RSS ${rss.toFixed(0)} MB` : ''}`,
    );
  } finally {
    await browser.close();
    server.close();
  }
}

/**
 * Peak resident memory (VmHWM, kB → MB) of Chromium's renderer processes, from /proc: the
 * tab's whole process (heap, ArrayBuffers, Blob parts it still holds), which the JS heap
 * figure leaves out. Undefined off Linux.
 */
function rendererPeakMb(): number | undefined {
  let peak: number | undefined;
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('--type=renderer')) continue;
      const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (hwm) peak = Math.max(peak ?? 0, Number(hwm) / 1024);
    } catch {
      // gone, or not ours to read
    }
  }
  return peak;
}

/** The same track opened and muxed the server's way (node:crypto, Node's Buffer), for comparison. */
async function nodeReference(
  chunks: Buffer[],
  dataKey: Buffer,
  track: { organizationId: string; sessionId: string; trackId: string },
  meta: ChunkMeta,
  startMs: number,
): Promise<{ seconds: number; bytes: number }> {
  const key = createSecretKey(dataKey);
  const t0 = performance.now();
  // eslint-disable-next-line @typescript-eslint/require-await -- an async view of a list, as the muxer takes
  async function* records(): AsyncGenerator<RtpRecord[]> {
    for (const [seq, c] of chunks.entries()) yield decodeChunk(openChunk(key, { ...track, seq }, c)).records;
  }
  let bytes = 0;
  const muxed = muxTrack(meta, records(), {
    startUs: BigInt(startMs) * 1000n,
    endUs: BigInt(startMs + MINUTES * 60_000) * 1000n,
  });
  for await (const b of muxed.body) bytes += b.length;
  return { seconds: (performance.now() - t0) / 1000, bytes };
}

await main();
