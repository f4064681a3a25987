/**
 * Real media for tests: RTP produced by ffmpeg and captured on a UDP socket the way the SFU
 * captures it, plus ffprobe/ffmpeg wrappers to check what a player would see and hear, and
 * an envelope similarity to compare decoded speech with its source.
 */
import { execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ChunkMeta, RtpRecord } from '../../lib/chunks/container.ts';

const run = promisify(execFile);

/** LibriVox utterances from Debian's pocketsphinx-testdata (16 kHz mono WAV). */
export const SPEECH_DIR = '/usr/share/pocketsphinx/test/data/librivox';
/** A 7.1 s utterance: "and mister john dashwood had then leisure to consider …". */
export const SPEECH_LONG = path.join(SPEECH_DIR, 'sense_and_sensibility_01_austen_64kb-0870.wav');
/** A 2.99 s utterance: "he was not an ill disposed young man". */
export const SPEECH_SHORT = path.join(SPEECH_DIR, 'sense_and_sensibility_01_austen_64kb-0880.wav');

/** True when ffmpeg, ffprobe and the speech files are installed (see missingMediaTools). */
export function haveMediaTools(): boolean {
  return missingMediaTools().length === 0;
}

/** What the media tests need and this machine lacks, each with the Debian package that provides it. */
export function missingMediaTools(): string[] {
  const onPath = (cmd: string) => (process.env.PATH ?? '').split(':').some((d) => fs.existsSync(path.join(d, cmd)));
  return [
    !(onPath('ffmpeg') && onPath('ffprobe')) && 'ffmpeg (apt-get install ffmpeg)',
    !fs.existsSync(SPEECH_LONG) && 'LibriVox speech (apt-get install pocketsphinx-testdata)',
  ].filter((m): m is string => !!m);
}

/** Options for {@link captureRtp}. */
export interface CaptureOptions {
  /**
   * 'rtp' (default): arrival times are synthesised from RTP timestamps (ffmpeg sends
   * faster than real time); 'real': the socket's receive times (pass `readrate: 1`).
   */
  arrival?: 'rtp' | 'real';
  /** Wall-clock arrival of the first packet when synthesising (µs). Default: now. */
  baseUs?: bigint;
  /** Maximum RTP packet size ffmpeg may send (default 1200, like browsers). */
  pktSize?: number;
  /**
   * ffmpeg's `-readrate` for every input: 1 is real time
   * (default 4: quick, yet no burst that overflows the socket).
   */
  readrate?: number;
}

/**
 * Runs ffmpeg with `ffmpegArgs` (inputs and codec options) sending one RTP stream to a local
 * UDP socket, and returns every packet received with its arrival time, and the stream's
 * metadata from ffmpeg's SDP. A capture that lost a datagram on loopback (a busy machine)
 * is taken again, up to three times. Throws when ffmpeg fails.
 */
export async function captureRtp(
  ffmpegArgs: string[],
  opts: CaptureOptions = {},
): Promise<{ meta: ChunkMeta; records: RtpRecord[]; sdp: string }> {
  const rate = String(opts.readrate ?? 4);
  const args = ffmpegArgs.flatMap((a) => (a === '-i' ? ['-readrate', rate, a] : [a]));
  for (let attempt = 1; ; attempt++) {
    const capture = await captureOnce(args, opts);
    const seqs = capture.records.map((r) => r.packet.readUInt16BE(2));
    const complete = seqs.every((s, i) => i === 0 || s === (((seqs[i - 1] ?? 0) + 1) & 0xffff));
    if (complete || attempt === 3) return capture;
  }
}

async function captureOnce(
  ffmpegArgs: string[],
  opts: CaptureOptions,
): Promise<{ meta: ChunkMeta; records: RtpRecord[]; sdp: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtp-'));
  const sdpFile = path.join(dir, 'stream.sdp');
  const rtp = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  const rtcp = dgram.createSocket('udp4');
  const records: RtpRecord[] = [];
  const wallUs = BigInt(Date.now()) * 1000n;
  const hr = process.hrtime.bigint();
  rtp.on('message', (msg) =>
    records.push({ arrivalUs: wallUs + (process.hrtime.bigint() - hr) / 1000n, packet: Buffer.from(msg) }),
  );
  rtcp.on('message', () => undefined);
  await Promise.all([
    new Promise<void>((r) => rtp.bind(0, '127.0.0.1', r)),
    new Promise<void>((r) => rtcp.bind(0, '127.0.0.1', r)),
  ]);
  const url = `rtp://127.0.0.1:${rtp.address().port}?rtcpport=${rtcp.address().port}&pkt_size=${opts.pktSize ?? 1200}`;
  try {
    const args = ['-hide_banner', '-nostdin', '-v', 'error', ...ffmpegArgs, '-f', 'rtp', '-sdp_file', sdpFile, url];
    const stderr = await new Promise<string>((resolve, reject) => {
      const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(err) : reject(new Error(`ffmpeg exited ${code}: ${err}`))));
    });
    if (stderr.trim()) throw new Error(`ffmpeg: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100)); // the last datagrams
    const sdp = fs.readFileSync(sdpFile, 'utf8');
    const map = /a=rtpmap:(\d+) ([^/\s]+)\/(\d+)/.exec(sdp);
    if (!map) throw new Error(`no rtpmap in SDP: ${sdp}`);
    const [, pt = '', codec = '', rate = ''] = map;
    const kind = /^m=video/m.test(sdp) ? 'video' : 'audio';
    const meta: ChunkMeta = {
      kind,
      payloadType: Number(pt),
      clockRate: Number(rate),
      mimeType: `${kind}/${codec}`.toLowerCase(),
    };
    if (opts.arrival !== 'real') synthesiseArrivals(records, meta.clockRate, opts.baseUs ?? BigInt(Date.now()) * 1000n);
    return { meta, records, sdp };
  } finally {
    rtp.close();
    rtcp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Rewrites arrival times as if every packet arrived exactly at its RTP time after `baseUs`. */
export function synthesiseArrivals(records: RtpRecord[], clockRate: number, baseUs: bigint): void {
  let first: number | undefined;
  let ext = 0;
  let prev = 0;
  for (const r of records) {
    const ts = r.packet.readUInt32BE(4);
    if (first === undefined) {
      first = ts;
      ext = ts;
    } else {
      let d = ts - prev;
      if (d > 2 ** 31) d -= 2 ** 32;
      else if (d < -(2 ** 31)) d += 2 ** 32;
      ext += d;
    }
    prev = ts;
    r.arrivalUs = baseUs + BigInt(Math.round(((ext - first) * 1e6) / clockRate));
  }
}

/** Writes a muxer's body to a file. */
export async function writeBody(body: AsyncIterable<Buffer>, file: string): Promise<number> {
  const out = fs.createWriteStream(file);
  let bytes = 0;
  for await (const b of body) {
    bytes += b.length;
    if (!out.write(b)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return bytes;
}

/** ffprobe's view of a file: format and streams, parsed from its JSON output. */
export async function ffprobe(
  file: string,
): Promise<{ format: Record<string, string>; streams: Record<string, string | number>[] }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', file]);
  return JSON.parse(stdout);
}

/** The duration ffprobe reports for a file, in seconds (NaN when it reports none). */
export async function ffprobeDuration(file: string): Promise<number> {
  return Number((await ffprobe(file)).format.duration);
}

/**
 * Decodes a whole file with ffmpeg and returns what it printed at level error (empty: clean).
 * `decoder` forces one (e.g. 'libopus', the reference decoder browsers and players use).
 */
export async function decodeErrors(file: string, decoder?: string): Promise<string> {
  const { stderr } = await run('ffmpeg', [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    ...(decoder ? ['-c', decoder] : []),
    '-i',
    file,
    '-f',
    'null',
    '-',
  ]);
  return stderr.trim();
}

/** Number of video frames ffmpeg decodes from a file. */
export async function countVideoFrames(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-count_frames',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=nb_read_frames',
    '-of',
    'csv=p=0',
    file,
  ]);
  return Number(stdout.trim());
}

/** Decodes a file's first audio stream to mono 16-bit PCM at `rate` Hz. */
export async function decodeToPcm(file: string, rate = 16000): Promise<Int16Array> {
  const { stdout } = await run(
    'ffmpeg',
    [
      '-hide_banner',
      '-nostdin',
      '-v',
      'error',
      '-i',
      file,
      '-map',
      '0:a:0',
      '-ac',
      '1',
      '-ar',
      String(rate),
      '-f',
      's16le',
      '-',
    ],
    { encoding: 'buffer', maxBuffer: 1 << 30 },
  );
  return new Int16Array(stdout.buffer, stdout.byteOffset, Math.floor(stdout.length / 2));
}

/** RMS of each 20 ms window of `pcm`. */
export function envelope(pcm: Int16Array, rate = 16000): Float64Array {
  const win = Math.round(rate * 0.02);
  const out = new Float64Array(Math.floor(pcm.length / win));
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (let j = i * win; j < (i + 1) * win; j++) sum += (pcm[j] ?? 0) ** 2;
    out[i] = Math.sqrt(sum / win);
  }
  return out;
}

/**
 * Normalised cross-correlation of the 20 ms RMS envelopes of two signals at the best lag
 * within ±`maxLagS` (b shifted later by `lagS` seconds). `score` is in [0, 1]: 1 for the
 * same speech, near 0 for unrelated sounds.
 */
export function envelopeCorrelation(
  a: Int16Array,
  b: Int16Array,
  rate = 16000,
  maxLagS = 1,
): { score: number; lagS: number } {
  const ea = envelope(a, rate);
  const eb = envelope(b, rate);
  const maxLag = Math.round(maxLagS / 0.02);
  let best = { score: 0, lagS: 0 };
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    // Pair ea[i] with eb[i + lag] over the overlap.
    const from = Math.max(0, -lag);
    const to = Math.min(ea.length, eb.length - lag);
    const n = to - from;
    if (n < 10) continue;
    let ma = 0;
    let mb = 0;
    for (let i = from; i < to; i++) {
      ma += ea[i] ?? 0;
      mb += eb[i + lag] ?? 0;
    }
    ma /= n;
    mb /= n;
    let sab = 0;
    let saa = 0;
    let sbb = 0;
    for (let i = from; i < to; i++) {
      const x = (ea[i] ?? 0) - ma;
      const y = (eb[i + lag] ?? 0) - mb;
      sab += x * y;
      saa += x * x;
      sbb += y * y;
    }
    const score = saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
    if (score > best.score) best = { score, lagS: lag * 0.02 };
  }
  return { score: Math.max(0, Math.min(1, best.score)), lagS: best.lagS };
}

/** Similarity in [0, 1] of two speech signals (see {@link envelopeCorrelation}). */
export function similarity(a: Int16Array, b: Int16Array, rate = 16000): number {
  return envelopeCorrelation(a, b, rate).score;
}

/** RMS of `pcm` between `fromS` and `toS` seconds. */
export function rmsBetween(pcm: Int16Array, fromS: number, toS: number, rate = 16000): number {
  const a = Math.max(0, Math.floor(fromS * rate));
  const b = Math.min(pcm.length, Math.floor(toS * rate));
  let sum = 0;
  for (let i = a; i < b; i++) sum += (pcm[i] ?? 0) ** 2;
  return b > a ? Math.sqrt(sum / (b - a)) : 0;
}

/** A deterministic pseudo-random generator (mulberry32) in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A network's damage to a capture, in arrival order: a share of packets `lost`, a share
 * `duplicated` (the copy arrives a little later), a share `reordered` (arrives 1–3 packets
 * late). Arrival times travel with the packets. Returns the damaged list and what was lost.
 */
export function impair(
  records: readonly RtpRecord[],
  opts: { loss?: number; duplicate?: number; reorder?: number; seed?: number },
): { records: RtpRecord[]; lost: number; duplicated: number } {
  const rand = seededRandom(opts.seed ?? 1);
  const out: RtpRecord[] = [];
  let lost = 0;
  let duplicated = 0;
  for (const r of records) {
    if (rand() < (opts.loss ?? 0)) {
      lost++;
      continue;
    }
    out.push(r);
    if (rand() < (opts.duplicate ?? 0)) {
      duplicated++;
      out.push({ arrivalUs: r.arrivalUs, packet: Buffer.from(r.packet) });
    }
  }
  for (let i = out.length - 1; i > 0; i--) {
    if (rand() < (opts.reorder ?? 0)) {
      const to = Math.min(out.length - 1, i + 1 + Math.floor(rand() * 3));
      const [moved] = out.splice(i, 1);
      if (moved) out.splice(to, 0, moved);
    }
  }
  return { records: out, lost, duplicated };
}
