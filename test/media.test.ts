// Downloadable files rebuilt from captured RTP: real speech and real video encoded by
// ffmpeg into real RTP, damaged like a network would, muxed, then checked with ffprobe and
// decoded with ffmpeg, the way a member's player would open them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeChunk, encodeChunk, type ChunkMeta, type RtpRecord } from '../lib/chunks/container.ts';
import {
  muxTrack,
  newMuxStats,
  oggOpusFromRecords,
  parseRtp,
  RtpParseError,
  webmFromRecords,
  type MuxStats,
} from '../lib/media/index.ts';
import { Unwrapper } from '../lib/media/rtp.ts';
import {
  captureRtp,
  countVideoFrames,
  decodeErrors,
  decodeToPcm,
  envelopeCorrelation,
  ffprobe,
  ffprobeDuration,
  haveMediaTools,
  impair,
  rmsBetween,
  seededRandom,
  similarity,
  SPEECH_LONG,
  SPEECH_SHORT,
  writeBody,
} from './helpers/media.ts';

let dir: string;
let speech: { meta: ChunkMeta; records: RtpRecord[] };
let video: { meta: ChunkMeta; records: RtpRecord[] };
let sourcePcm: Int16Array;
let sourceDuration: number;
let first: bigint;

before(async () => {
  assert.ok(
    haveMediaTools(),
    'these tests need ffmpeg and pocketsphinx-testdata (apt-get install ffmpeg pocketsphinx-testdata)',
  );
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'media-test-'));
  speech = await captureRtp(['-i', SPEECH_LONG, '-c:a', 'libopus', '-b:a', '32k', '-ar', '48000']);
  video = await captureRtp([
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=320x240:rate=30',
    '-t',
    '3',
    '-c:v',
    'libvpx',
    '-b:v',
    '1M',
    '-g',
    '15',
  ]);
  sourcePcm = await decodeToPcm(SPEECH_LONG);
  sourceDuration = await ffprobeDuration(SPEECH_LONG);
  first = speech.records[0]?.arrivalUs ?? 0n;
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function ogg(
  name: string,
  records: Iterable<RtpRecord> | AsyncIterable<RtpRecord>,
  opts: Parameters<typeof oggOpusFromRecords>[1] = {},
): Promise<string> {
  const file = path.join(dir, `${name}.ogg`);
  await writeBody(oggOpusFromRecords(records, { payloadType: speech.meta.payloadType, ...opts }), file);
  return file;
}

async function assertCleanDecode(file: string, decoders: (string | undefined)[] = [undefined]): Promise<void> {
  for (const d of decoders)
    assert.equal(
      await decodeErrors(file, d),
      '',
      `${path.basename(file)} decodes without errors (${d ?? 'default decoder'})`,
    );
}

test('the captures are real, complete RTP streams', () => {
  assert.equal(speech.meta.mimeType, 'audio/opus');
  assert.equal(speech.meta.clockRate, 48000);
  assert.equal(video.meta.mimeType, 'video/vp8');
  // 7.1 s of 20 ms packets, none lost on loopback.
  assert.ok(speech.records.length >= 355, `${speech.records.length} audio packets`);
  const seqs = speech.records.map((r) => parseRtp(r.packet).sequenceNumber);
  seqs.forEach((s, i) => i > 0 && assert.equal(s, ((seqs[i - 1] ?? 0) + 1) & 0xffff));
  assert.ok(video.records.length > 90, 'VP8 frames span several packets');
});

test('parseRtp reads CSRCs, header extensions and padding, and rejects malformed packets with a typed error', () => {
  const real = speech.records[10]?.packet ?? Buffer.alloc(0);
  const plain = parseRtp(real);
  assert.equal(plain.payloadType, speech.meta.payloadType);
  // The same packet as a mixer with a one-byte header extension and padding would send it.
  const header = Buffer.from(real.subarray(0, 12));
  header[0] = 0x80 | 0x20 | 0x10 | 2; // V=2, P, X, CC=2
  const csrcs = Buffer.from([0, 0, 0, 1, 0, 0, 0, 2]);
  const ext = Buffer.from([0xbe, 0xde, 0x00, 0x01, 0x10, 0xff, 0x00, 0x00]);
  const padding = Buffer.from([0, 0, 0, 4]);
  const rich = parseRtp(Buffer.concat([header, csrcs, ext, plain.payload, padding]));
  assert.deepEqual(rich.payload, plain.payload);
  assert.deepEqual(rich.csrcs, [1, 2]);
  assert.equal(rich.extensionProfile, 0xbede);
  assert.equal(rich.sequenceNumber, plain.sequenceNumber);
  assert.equal(rich.timestamp, plain.timestamp);

  const malformed = [
    real.subarray(0, 11),
    Buffer.concat([Buffer.from([0x40]), real.subarray(1)]), // version 1
    Buffer.concat([Buffer.from([0x8f]), real.subarray(1, 20)]), // 15 CSRCs in 20 bytes
    Buffer.concat([
      header.subarray(0, 1).fill(0x90),
      real.subarray(1, 12),
      Buffer.from([0xbe, 0xde, 0x00, 0x40, 1, 2, 3, 4]),
    ]), // extension too long
    Buffer.concat([Buffer.from([0xa0]), real.subarray(1, 14), Buffer.from([0xff])]), // padding longer than the packet
  ];
  for (const m of malformed)
    assert.throws(
      () => parseRtp(m),
      (e: unknown) => e instanceof RtpParseError && e.code === 'rtp_malformed',
    );
});

test('extended sequence numbers and timestamps survive the 16- and 32-bit wraps', async () => {
  const u = new Unwrapper(16);
  const ext = [65534, 65535, 0, 65533, 1, 2].map((s) => u.unwrap(s));
  assert.deepEqual(
    ext.map((e) => e - (ext[0] ?? 0)),
    [0, 1, 2, -1, 3, 4],
  );
  // The real stream renumbered to wrap both counters two seconds in.
  const seq0 = 65535 - 100;
  const ts0 = 2 ** 32 - 48000 * 2;
  const wrapped = speech.records.map((r, i) => {
    const packet = Buffer.from(r.packet);
    packet.writeUInt16BE((seq0 + i) & 0xffff, 2);
    packet.writeUInt32BE((ts0 + i * 960) % 2 ** 32, 4);
    return { arrivalUs: r.arrivalUs, packet };
  });
  const stats = newMuxStats();
  const file = await ogg('wrapped', wrapped, { stats });
  assert.equal(stats.lost, 0);
  assert.equal(stats.filledSamples, 0, 'no gap is invented at the wrap');
  assert.ok(Math.abs((await ffprobeDuration(file)) - sourceDuration) < 0.1);
  assert.ok(similarity(sourcePcm, await decodeToPcm(file)) > 0.9);
});

test('a clean capture becomes an Ogg Opus file with the source duration and sound', async () => {
  const stats = newMuxStats();
  const file = await ogg('clean', speech.records, { stats });
  const probe = await ffprobe(file);
  assert.equal(probe.format.format_name, 'ogg');
  assert.equal(probe.streams[0]?.codec_name, 'opus');
  assert.equal(probe.streams[0]?.channels, 1, 'mono content from a stereo-capable stream stays mono');
  assert.ok(
    Math.abs(Number(probe.format.duration) - sourceDuration) < 0.1,
    `duration ${probe.format.duration} vs ${sourceDuration}`,
  );
  await assertCleanDecode(file, [undefined, 'libopus']);
  const { score, lagS } = envelopeCorrelation(sourcePcm, await decodeToPcm(file));
  assert.ok(score > 0.9, `similarity ${score}`);
  assert.ok(Math.abs(lagS) <= 0.02, `no time shift (${lagS} s)`);
  assert.equal(stats.written, speech.records.length);

  // The check above can fail: a flipped byte breaks a page CRC and ffmpeg says so.
  const bytes = fs.readFileSync(file);
  const middle = Math.floor(bytes.length / 2);
  bytes[middle] = (bytes[middle] ?? 0) ^ 0x55;
  fs.writeFileSync(path.join(dir, 'corrupt.ogg'), bytes);
  assert.notEqual(await decodeErrors(path.join(dir, 'corrupt.ogg')), '');
});

test('5% loss, reordering and duplicates: same duration, still the same speech', async () => {
  const damaged = impair(speech.records, { loss: 0.05, duplicate: 0.03, reorder: 0.05, seed: 7 });
  assert.ok(damaged.lost > 5 && damaged.duplicated > 3);
  const stats = newMuxStats();
  const file = await ogg('lossy', damaged.records, { stats });
  // Losses before the first or after the last packet received cannot be seen.
  const kept = new Set(damaged.records.map((r) => r.packet.readUInt16BE(2)));
  const keptAt = speech.records.flatMap((r, i) => (kept.has(r.packet.readUInt16BE(2)) ? [i] : []));
  assert.equal(stats.lost, (keptAt.at(-1) ?? 0) - (keptAt[0] ?? 0) + 1 - keptAt.length);
  assert.equal(stats.duplicates + stats.late, damaged.duplicated);
  assert.ok(Math.abs((await ffprobeDuration(file)) - sourceDuration) < 0.1);
  await assertCleanDecode(file, [undefined, 'libopus']);
  const score = similarity(sourcePcm, await decodeToPcm(file));
  assert.ok(score > 0.8, `similarity ${score}`);
  // The similarity measure tells different speech apart.
  assert.ok(similarity(sourcePcm, await decodeToPcm(SPEECH_SHORT)) < 0.5);
});

test('a 2 s gap in the middle becomes 2 s of silence and keeps later speech in place', async () => {
  const gap = speech.records.filter((r) => r.arrivalUs - first < 2_000_000n || r.arrivalUs - first >= 4_000_000n);
  const file = await ogg('gap', gap);
  assert.ok(Math.abs((await ffprobeDuration(file)) - sourceDuration) < 0.1);
  await assertCleanDecode(file, [undefined, 'libopus']);
  const pcm = await decodeToPcm(file);
  const speechLevel = rmsBetween(sourcePcm, 2.1, 3.9);
  assert.ok(speechLevel > 300, 'the source speaks during the gap');
  assert.ok(rmsBetween(pcm, 2.15, 3.9) < speechLevel * 0.02, 'silence where packets were missing');
  const after = (pcm16: Int16Array) => pcm16.subarray(4.1 * 16000);
  const { score, lagS } = envelopeCorrelation(after(sourcePcm), after(pcm));
  assert.ok(score > 0.9 && Math.abs(lagS) <= 0.02, `speech after the gap in place (${score}, ${lagS} s)`);
});

test('startUs pads the start so t=0 is the recording start; endUs pads the end', async () => {
  const file = await ogg('late', speech.records, { startUs: first - 1_500_000n });
  const duration = await ffprobeDuration(file);
  assert.ok(Math.abs(duration - (sourceDuration + 1.5)) < 0.05, `duration ${duration}`);
  const pcm = await decodeToPcm(file);
  assert.ok(rmsBetween(pcm, 0, 1.45) < 1, 'silence before the participant joined');
  const { score, lagS } = envelopeCorrelation(sourcePcm, pcm, 16000, 2);
  assert.ok(score > 0.9 && Math.abs(lagS - 1.5) <= 0.02, `speech starts 1.5 s in (${score}, ${lagS} s)`);

  const padded = await ogg('padded', speech.records, { startUs: first, endUs: first + 12_000_000n });
  assert.ok(Math.abs((await ffprobeDuration(padded)) - 12) < 0.01);
  await assertCleanDecode(padded, [undefined, 'libopus']);
  // No packets at all still gives a playable file of the recording's length.
  const empty = await ogg('empty', [], { startUs: first, endUs: first + 3_000_000n });
  assert.ok(Math.abs((await ffprobeDuration(empty)) - 3) < 0.01);
});

test('malformed and foreign packets are skipped, not fatal, and change nothing', async () => {
  const rand = seededRandom(3);
  const polluted: RtpRecord[] = [];
  for (const [i, r] of speech.records.entries()) {
    polluted.push(r);
    if (i % 10 !== 5) continue;
    const garbage = Buffer.alloc(1 + Math.floor(rand() * 60));
    for (let j = 0; j < garbage.length; j++) garbage[j] = Math.floor(rand() * 256);
    garbage[0] = 0x40; // never valid version 2
    const rtx = Buffer.from(r.packet);
    rtx[1] = ((rtx[1] ?? 0) & 0x80) | 98; // another payload type (RTX)
    polluted.push(
      { arrivalUs: r.arrivalUs, packet: garbage },
      { arrivalUs: r.arrivalUs, packet: r.packet.subarray(0, 7) },
      { arrivalUs: r.arrivalUs, packet: rtx },
    );
  }
  // And a second stream of the same payload type interleaved (another SSRC, like a simulcast layer).
  for (let i = polluted.length - 1; i > 0; i -= 7) {
    const other = Buffer.from(polluted[i]?.packet ?? Buffer.alloc(0));
    if (other.length < 12 || other[0] !== 0x80 || ((other[1] ?? 0) & 0x7f) !== speech.meta.payloadType) continue;
    other.writeUInt32BE((other.readUInt32BE(8) ^ 1) >>> 0, 8);
    polluted.splice(i, 0, { arrivalUs: polluted[i]?.arrivalUs ?? 0n, packet: other });
  }
  const stats = newMuxStats();
  const file = await ogg('polluted', polluted, { stats });
  assert.ok(stats.malformed >= 70 && stats.foreign >= 35 + 40, JSON.stringify(stats));
  assert.deepEqual(
    fs.readFileSync(file),
    fs.readFileSync(await ogg('clean-again', speech.records)),
    'the same file as without the junk',
  );
});

test('a sender restart mid-recording (new SSRC, sequence and timestamp origin) keeps the timeline true', async () => {
  const half = Math.floor(speech.records.length / 2);
  const restarted = speech.records.map((r, i) => {
    if (i < half) return r;
    const packet = Buffer.from(r.packet);
    packet.writeUInt16BE((packet.readUInt16BE(2) + 20_000) & 0xffff, 2);
    packet.writeUInt32BE((packet.readUInt32BE(4) + 1_234_567_890) % 2 ** 32, 4);
    packet.writeUInt32BE((packet.readUInt32BE(8) ^ 0x5a5a5a5a) >>> 0, 8);
    return { arrivalUs: r.arrivalUs, packet };
  });
  const stats = newMuxStats();
  const file = await ogg('restart', restarted, { stats });
  assert.ok(Math.abs((await ffprobeDuration(file)) - sourceDuration) < 0.1);
  assert.equal(stats.written, speech.records.length);
  const { score, lagS } = envelopeCorrelation(sourcePcm, await decodeToPcm(file));
  assert.ok(score > 0.9 && Math.abs(lagS) <= 0.02, `${score}, ${lagS} s`);
  // Timestamps that jump an hour while packets keep arriving every 20 ms follow the arrivals.
  const jumped = speech.records.map((r, i) => {
    if (i < half) return r;
    const packet = Buffer.from(r.packet);
    packet.writeUInt32BE((packet.readUInt32BE(4) + 3600 * 48000) % 2 ** 32, 4);
    return { arrivalUs: r.arrivalUs, packet };
  });
  assert.ok(Math.abs((await ffprobeDuration(await ogg('jumped', jumped))) - sourceDuration) < 0.1);
  // Sequence numbers that restart lower on the same SSRC do not make the rest look "late".
  const renumbered = speech.records.map((r, i) => {
    if (i < half) return r;
    const packet = Buffer.from(r.packet);
    packet.writeUInt16BE((packet.readUInt16BE(2) + 65536 - 1000) & 0xffff, 2);
    return { arrivalUs: r.arrivalUs, packet };
  });
  const resetStats = newMuxStats();
  const reset = await ogg('seq-reset', renumbered, { stats: resetStats });
  assert.equal(resetStats.written, speech.records.length);
  assert.ok(similarity(sourcePcm, await decodeToPcm(reset)) > 0.9);
});

test('stereo-coded Opus gives a stereo file unless channels says otherwise', async () => {
  const stereo = await captureRtp([
    '-i',
    SPEECH_SHORT,
    '-af',
    'pan=stereo|c0=c0|c1=0.5*c0',
    '-c:a',
    'libopus',
    '-b:a',
    '48k',
    '-ar',
    '48000',
    '-ac',
    '2',
  ]);
  const file = await ogg('stereo', stereo.records);
  assert.equal((await ffprobe(file)).streams[0]?.channels, 2);
  const mono = await ogg('stereo-as-mono', stereo.records, { channels: 1 });
  assert.equal((await ffprobe(mono)).streams[0]?.channels, 1);
  await assertCleanDecode(mono, [undefined, 'libopus']);
  assert.ok(similarity(await decodeToPcm(SPEECH_SHORT), await decodeToPcm(mono)) > 0.9);
});

async function webm(
  name: string,
  records: Iterable<RtpRecord>,
  opts: Parameters<typeof webmFromRecords>[1] = {},
): Promise<string> {
  const file = path.join(dir, `${name}.webm`);
  await writeBody(webmFromRecords(records, { payloadType: video.meta.payloadType, ...opts }), file);
  return file;
}

async function packetTimes(file: string): Promise<{ pts: number; key: boolean }[]> {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file],
    { encoding: 'utf8' },
  );
  return out
    .trim()
    .split('\n')
    .map((l) => ({ pts: Number(l.split(',')[0]), key: (l.split(',')[1] ?? '').includes('K') }));
}

test('VP8 RTP becomes a WebM with every frame, the right size and timing', async () => {
  const v0 = video.records[0]?.arrivalUs ?? 0n;
  const stats = newMuxStats();
  const file = await webm('clean', video.records, { stats, endUs: v0 + 3_000_000n });
  const probe = await ffprobe(file);
  assert.match(probe.format.format_name ?? '', /webm/);
  assert.equal(probe.streams[0]?.codec_name, 'vp8');
  assert.equal(probe.streams[0]?.width, 320);
  assert.equal(probe.streams[0]?.height, 240);
  assert.ok(Math.abs(Number(probe.format.duration) - 3) < 0.2, `duration ${probe.format.duration}`);
  await assertCleanDecode(file);
  assert.equal(await countVideoFrames(file), 90);
  const times = await packetTimes(file);
  assert.ok(Math.abs((times.at(-1)?.pts ?? 0) - 89 / 30) < 0.02, 'the last frame at 2.967 s');
  assert.equal(times.filter((t) => t.key).length, 6, 'a keyframe every 15 frames');
  assert.equal(stats.droppedFrames, 0);
  // A camera that never sent a usable keyframe still gives a file that opens, of the recording's length.
  const empty = await webm('empty', video.records.slice(0, 0), { startUs: v0, endUs: v0 + 2_000_000n });
  assert.ok(Math.abs((await ffprobeDuration(empty)) - 2) < 0.01);
  await assertCleanDecode(empty);
});

test('VP8 with loss, reordering and duplicates still decodes cleanly; frames keep their times', async () => {
  const damaged = impair(video.records, { loss: 0.03, duplicate: 0.03, reorder: 0.05, seed: 11 });
  const stats = newMuxStats();
  const file = await webm('lossy', damaged.records, {
    stats,
    startUs: (video.records[0]?.arrivalUs ?? 0n) - 1_000_000n,
  });
  await assertCleanDecode(file);
  const frames = await countVideoFrames(file);
  assert.ok(frames > 15 && frames < 90 && stats.droppedFrames > 0, `${frames} frames, ${stats.droppedFrames} dropped`);
  const times = await packetTimes(file);
  assert.equal(times[0]?.key, true, 'starts at a keyframe');
  for (const t of times) {
    const frame = (t.pts - 1) * 30; // startUs one second before the first packet
    assert.ok(
      Math.abs(frame - Math.round(frame)) < 0.05 && frame > -0.05,
      `frame time ${t.pts} on the 30 fps grid after 1 s`,
    );
  }
});

test('muxTrack picks the container from the chunk metadata and reads chunk by chunk', async () => {
  // Three chunks in the real container format, stored, then read and decoded one at a time
  // like the download path does.
  const third = Math.ceil(speech.records.length / 3);
  const chunkFiles = [0, 1, 2].map((i) => {
    const f = path.join(dir, `chunk-${i}.bin`);
    fs.writeFileSync(f, encodeChunk(speech.meta, speech.records.slice(i * third, (i + 1) * third)));
    return f;
  });
  async function* fromChunks(): AsyncGenerator<RtpRecord> {
    for (const f of chunkFiles) yield* decodeChunk(await fs.promises.readFile(f)).records;
  }
  const audio = muxTrack(decodeChunk(fs.readFileSync(chunkFiles[0] ?? '')).meta, fromChunks());
  assert.equal(audio.contentType, 'audio/ogg');
  assert.equal(audio.extension, 'ogg');
  const file = path.join(dir, 'track.ogg');
  await writeBody(audio.body, file);
  assert.deepEqual(fs.readFileSync(file), fs.readFileSync(await ogg('direct', speech.records)));

  const vid = muxTrack(video.meta, video.records);
  assert.equal(vid.contentType, 'video/webm');
  assert.equal(vid.extension, 'webm');
  const vfile = path.join(dir, 'track.webm');
  await writeBody(vid.body, vfile);
  assert.equal(await countVideoFrames(vfile), 90);

  assert.throws(() => muxTrack({ ...speech.meta, mimeType: 'audio/PCMU' }, []), { code: 'unsupported_codec' });
});

test('30 minutes of audio stream through in bounded memory', async () => {
  const packets = speech.records.map((r) => r.packet);
  const total = 90_000; // 30 min of 20 ms packets
  function* long(): Generator<RtpRecord> {
    for (let i = 0; i < total; i++) {
      const packet = Buffer.from(packets[i % packets.length] ?? Buffer.alloc(0));
      packet.writeUInt16BE(i & 0xffff, 2);
      packet.writeUInt32BE((i * 960) % 2 ** 32, 4);
      yield { arrivalUs: first + BigInt(i) * 20_000n, packet };
    }
  }
  const stats: MuxStats = newMuxStats();
  const cpu = process.cpuUsage();
  const base = process.memoryUsage().heapUsed;
  let peak = 0;
  let bytes = 0;
  const file = path.join(dir, 'long.ogg');
  const out = fs.openSync(file, 'w');
  for await (const page of oggOpusFromRecords(long(), { stats })) {
    bytes += page.length;
    fs.writeSync(out, page);
    if (stats.packets % 1000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - base);
  }
  fs.closeSync(out);
  const used = process.cpuUsage(cpu);
  const seconds = (used.user + used.system) / 1e6; // CPU time: other work on the machine does not count
  assert.equal(stats.written, total);
  assert.ok(peak < 50 * 2 ** 20, `heap grew by ${(peak / 2 ** 20).toFixed(1)} MiB`);
  assert.ok(seconds < 5, `took ${seconds.toFixed(1)} s of CPU`);
  assert.ok(bytes > 1e6);
  assert.ok(Math.abs((await ffprobeDuration(file)) - 1800) < 0.1);
});
