// The audio path of transcription, piece by piece, on real speech: the 48→16 kHz resampler
// keeps speech and removes what would alias, RTP → PCM keeps times true (gaps are silence
// of the right length, speech lands where it was said), and the VAD finds where speech is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureRtp, decodeToPcm, envelopeCorrelation, missingMediaTools, rmsBetween } from './helpers/media.ts';
import { prerequisites } from './helpers/tools.ts';

const ready = prerequisites('transcription audio tests', missingMediaTools());
import { speechFile } from './helpers/transcription.ts';
import { resample48to16, Decimator } from '../server/transcription/resample.ts';
import { decodeOpusTrack, PCM_RATE } from '../server/transcription/audio.ts';
import { SileroVad, speechRegions, speechWindows } from '../server/transcription/vad.ts';
import { newMuxStats } from '../lib/media/rtp.ts';

const tone = (hz: number, seconds: number) =>
  Float32Array.from({ length: 48000 * seconds }, (_, i) => Math.sin((2 * Math.PI * hz * i) / 48000));
const rms = (x: Float32Array, from = 0, to = x.length) =>
  Math.sqrt(x.subarray(from, to).reduce((s, v) => s + v * v, 0) / Math.max(1, to - from));

test('resampling 48 → 16 kHz keeps speech frequencies, removes what would alias, and keeps time', () => {
  assert.ok(Math.abs(rms(resample48to16(tone(1000, 1)), 500, 15500) - Math.SQRT1_2) < 0.01, '1 kHz passes');
  assert.ok(rms(resample48to16(tone(5000, 1)), 500, 15500) > 0.69, '5 kHz passes');
  assert.ok(rms(resample48to16(tone(12000, 1)), 500, 15500) < 0.002, '12 kHz (would alias to 4 kHz) is removed');
  assert.equal(resample48to16(new Float32Array(48001)).length, 16001);
  const impulse = new Float32Array(9000);
  impulse[3000] = 1;
  const out = resample48to16(impulse);
  const peak = out.reduce((best, v, i) => (v > (out[best] ?? 0) ? i : best), 0);
  assert.equal(peak, 1000, 'no delay: input sample 3000 is output sample 1000');
  // Streaming in uneven pieces gives the same samples as one call.
  const signal = Float32Array.from({ length: 20000 }, (_, i) => Math.sin(i / 7) * Math.cos(i / 131));
  const d = new Decimator();
  const parts = [
    d.push(signal.subarray(0, 1)),
    d.push(signal.subarray(1, 4999)),
    d.push(signal.subarray(4999)),
    d.end(),
  ];
  const streamed = Float32Array.from(parts.flatMap((p) => [...p]));
  const whole = resample48to16(signal);
  assert.equal(streamed.length, whole.length);
  for (let i = 0; i < whole.length; i++) assert.ok(Math.abs((streamed[i] ?? 0) - (whole[i] ?? 0)) < 1e-6);
});

test(
  'RTP → PCM: speech lands where it was said, lost packets and pauses become silence of the right length',
  { skip: !ready, timeout: 60_000 },
  async () => {
    const base = 1_700_000_000_000_000n;
    const a = speechFile('0880');
    const b = speechFile('0870');
    const first = await captureRtp(['-i', a.file, '-ac', '1', '-c:a', 'libopus', '-b:a', '32k'], {
      baseUs: base + 1_000_000n,
    });
    const second = await captureRtp(['-i', b.file, '-ac', '1', '-c:a', 'libopus', '-b:a', '32k'], {
      baseUs: base + 6_000_000n,
    });
    // 1.0 s .. 1.6 s of the first utterance never arrives (packets 50..80 at 20 ms).
    const lost = first.records.filter((_, i) => i < 50 || i >= 80);
    const stats = newMuxStats();
    const pcm = await decodeOpusTrack([...lost, ...second.records], {
      originUs: base,
      payloadType: first.meta.payloadType,
      stats,
    });
    const seconds = pcm.length / PCM_RATE;
    assert.ok(
      Math.abs(seconds - (6 + b.seconds)) < 0.1,
      `the PCM lasts to the end of the second utterance: ${seconds}s`,
    );
    assert.ok(stats.lost >= 30, `losses counted: ${stats.lost}`);
    const s16 = Int16Array.from(pcm, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32767))));
    assert.equal(rmsBetween(s16, 0, 0.95), 0, 'silence before the first packet');
    assert.equal(rmsBetween(s16, 2.1, 2.55), 0, 'the lost packets are silence, not shifted speech');
    assert.equal(rmsBetween(s16, 1 + a.seconds + 0.2, 5.9), 0, 'the pause between utterances is silence');
    // Each utterance correlates with its source at (almost) no lag: times are true.
    for (const [u, at] of [[b, 6]] as const) {
      const source = await decodeToPcm(u.file);
      const slice = s16.subarray(at * PCM_RATE, (at + u.seconds) * PCM_RATE);
      const c = envelopeCorrelation(slice, source, PCM_RATE, 0.5);
      assert.ok(c.score > 0.8, `speech matches its source (${c.score.toFixed(2)})`);
      assert.ok(Math.abs(c.lagS) <= 0.06, `at the right time (lag ${c.lagS}s)`);
    }
  },
);

test(
  'Silero VAD finds the speech and skips the silence; long speech is cut into windows of at most 30 s',
  { skip: !ready, timeout: 60_000 },
  async () => {
    const base = 1_700_000_000_000_000n;
    const a = speechFile('0920');
    const b = speechFile('0890');
    const one = await captureRtp(['-i', a.file, '-ac', '1', '-c:a', 'libopus'], { baseUs: base + 2_000_000n });
    const two = await captureRtp(['-i', b.file, '-ac', '1', '-c:a', 'libopus'], { baseUs: base + 14_000_000n });
    const pcm = await decodeOpusTrack([...one.records, ...two.records], {
      originUs: base,
      payloadType: one.meta.payloadType,
    });
    const vad = await SileroVad.load();
    try {
      const probs = await vad.probabilities(pcm);
      const regions = speechRegions(probs, pcm.length / PCM_RATE);
      assert.equal(regions.length, 2, JSON.stringify(regions));
      for (const [r, at, len] of [
        [regions[0], 2, a.seconds],
        [regions[1], 14, b.seconds],
      ] as const) {
        assert.ok(
          r && r.start >= at - 0.25 && r.start < at + 0.8,
          `region starts with the speech at ${at}s: ${r?.start}`,
        );
        assert.ok(
          r && r.end > at + len - 0.8 && r.end <= at + len + 0.3,
          `and ends with it at ${at + len}s: ${r?.end}`,
        );
      }
      const speech = regions.reduce((s, r) => s + r.end - r.start, 0);
      assert.ok(speech < (a.seconds + b.seconds) * 1.2, 'the silence is left out');
      // Windows: neighbours merge while they fit; a 70 s region splits into ≤ 30 s pieces.
      assert.deepEqual(
        speechWindows(
          [
            { start: 0, end: 5 },
            { start: 5.5, end: 9 },
            { start: 20, end: 22 },
          ],
          new Float32Array(1000),
        ),
        [
          { start: 0, end: 9 },
          { start: 20, end: 22 },
        ],
      );
      const long = speechWindows([{ start: 0, end: 70 }], new Float32Array(Math.ceil((70 * PCM_RATE) / 512)).fill(0.9));
      assert.ok(long.length === 3 && long.every((w) => w.end - w.start <= 30), JSON.stringify(long));
      assert.equal(long[0]?.start, 0);
      assert.equal(long[long.length - 1]?.end, 70);
    } finally {
      await vad.close();
    }
  },
);
