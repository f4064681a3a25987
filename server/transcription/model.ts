/**
 * The speech model: a Whisper-family ONNX export in the transformers.js layout, loaded from
 * MODEL_DIR/TRANSCRIBE_MODEL only (never the network), run by @huggingface/transformers on
 * onnxruntime-node. Execution provider by TRANSCRIBE_DEVICE: cuda, cpu, or auto (cuda where
 * it loads, else cpu, said in a log line). Word timestamps (cross-attention alignment) are
 * used where the export has them; otherwise segment timestamps.
 */
import fs from 'node:fs';
import path from 'node:path';
import { env, LogLevel, pipeline, Tensor, type AutomaticSpeechRecognitionPipeline } from '@huggingface/transformers';
import { z } from 'zod';
import { log, errorFields } from '../core/logger.ts';
import { TranscriptionError } from './errors.ts';
import { WHISPER_LANGUAGES } from './languages.ts';

export type DeviceSetting = 'auto' | 'cuda' | 'cpu';
export type DtypeSetting = 'auto' | 'fp32' | 'fp16' | 'q8' | 'q4';

/** Where the model comes from and how it runs. */
export interface ModelOptions {
  /** Folder holding one sub-folder per model (MODEL_DIR). */
  modelDir: string;
  /** The model's folder name under `modelDir` (TRANSCRIBE_MODEL). */
  name: string;
  device: DeviceSetting;
  /** Weights precision; auto: the library's default for the device. */
  dtype: DtypeSetting;
  /** Ask for word timestamps (default true); falls back to segments when the export lacks them. */
  words: boolean;
}

/** A word with times in seconds from the start of the audio given to the model. */
export interface Word {
  start: number;
  end: number;
  text: string;
}

/** A stretch of text with times in seconds from the start of the audio given to the model. */
export interface RawSegment {
  start: number;
  end: number;
  text: string;
  words?: Word[];
}

const output = z.object({
  text: z.string(),
  chunks: z
    .array(z.object({ text: z.string(), timestamp: z.tuple([z.number().nullable(), z.number().nullable()]) }))
    .optional(),
});

/** True when `dir/name` looks like a transformers.js model folder. */
export function modelInstalled(modelDir: string, name: string): boolean {
  return fs.existsSync(path.join(modelDir, name, 'config.json')) && fs.existsSync(path.join(modelDir, name, 'onnx'));
}

/** A loaded Whisper model; one call at a time. */
export class SpeechModel {
  readonly name: string;
  /** The execution provider the model runs on. */
  readonly device: 'cuda' | 'cpu';
  readonly #asr: AutomaticSpeechRecognitionPipeline;
  #words: boolean;

  private constructor(asr: AutomaticSpeechRecognitionPipeline, name: string, device: 'cuda' | 'cpu', words: boolean) {
    this.#asr = asr;
    this.name = name;
    this.device = device;
    this.#words = words;
  }

  /**
   * Loads the model from disk.
   * @throws TranscriptionError `model_not_installed` (no such folder), `model_load_failed`.
   */
  static async load(o: ModelOptions): Promise<SpeechModel> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(o.name) || !modelInstalled(o.modelDir, o.name)) {
      throw new TranscriptionError(
        'model_not_installed',
        'The speech model is not installed on the transcription worker.',
        true,
      );
    }
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = o.modelDir;
    env.logLevel = LogLevel.ERROR;
    const open = async (device: 'cuda' | 'cpu') =>
      pipeline('automatic-speech-recognition', o.name, {
        device,
        local_files_only: true,
        ...(o.dtype === 'auto' ? {} : { dtype: o.dtype }),
      });
    let device: 'cuda' | 'cpu' = o.device === 'cpu' ? 'cpu' : 'cuda';
    let asr: AutomaticSpeechRecognitionPipeline;
    try {
      asr = await open(device);
    } catch (err) {
      if (o.device !== 'auto')
        throw new TranscriptionError('model_load_failed', `The speech model could not be loaded on ${device}.`, true, {
          cause: err,
        });
      log.info('transcription: cuda is not available here; running on cpu', {
        reason: err instanceof Error ? err.name : 'unknown',
      });
      device = 'cpu';
      try {
        asr = await open(device);
      } catch (err2) {
        throw new TranscriptionError('model_load_failed', 'The speech model could not be loaded.', true, {
          cause: err2,
        });
      }
    }
    log.info(`transcription: speech model runs on ${device}`, { provider: device, model: o.name });
    return new SpeechModel(asr, o.name, device, o.words);
  }

  /** The most likely language (ISO 639-1) of 16 kHz `audio`, from Whisper's language token. */
  async detectLanguage(audio: Float32Array): Promise<string> {
    const gc = z
      .object({ decoder_start_token_id: z.number(), lang_to_id: z.record(z.string(), z.number()).optional() })
      .parse(this.#asr.model.generation_config);
    if (!gc.lang_to_id) return 'en';
    const features = z.object({ input_features: z.instanceof(Tensor) }).parse(await this.#asr.processor(audio));
    const out = z.object({ logits: z.instanceof(Tensor) }).parse(
      await this.#asr.model({
        input_features: features.input_features,
        decoder_input_ids: new Tensor('int64', BigInt64Array.from([BigInt(gc.decoder_start_token_id)]), [1, 1]),
      }),
    );
    const logits = out.logits.data;
    let best = 'en';
    let bestScore = -Infinity;
    for (const [token, id] of Object.entries(gc.lang_to_id)) {
      const code = /^<\|([a-z]{2,3})\|>$/.exec(token)?.[1];
      const score = Number(logits[id] ?? -Infinity);
      if (code && WHISPER_LANGUAGES.has(code) && score > bestScore) {
        best = code;
        bestScore = score;
      }
    }
    return best;
  }

  /**
   * Transcribes at most 30 s of 16 kHz `audio` in `language`. Times are clamped into the
   * audio (a model's timestamps can run past a short input).
   */
  async transcribe(audio: Float32Array, language: string): Promise<RawSegment[]> {
    const length = audio.length / 16000;
    const clamp = (t: number | null, fallback: number) => Math.min(length, Math.max(0, t ?? fallback));
    if (this.#words) {
      try {
        const out = output.parse(await this.#asr(audio, { return_timestamps: 'word', language, task: 'transcribe' }));
        let prev = 0;
        const words: Word[] = (out.chunks ?? []).map((c) => {
          const start = Math.max(prev, clamp(c.timestamp[0], prev));
          const end = Math.max(start, clamp(c.timestamp[1], start));
          prev = start;
          return { start, end, text: c.text };
        });
        return groupWords(words);
      } catch (err) {
        // Exports without cross-attention outputs cannot align words; segments still work.
        log.warn('transcription: word timestamps unavailable with this model; using segments', errorFields(err));
        this.#words = false;
      }
    }
    const out = output.parse(await this.#asr(audio, { return_timestamps: true, language, task: 'transcribe' }));
    let prev = 0;
    return (out.chunks ?? [{ text: out.text, timestamp: [0, length] as [number, number] }])
      .map((c) => {
        const start = Math.max(prev, clamp(c.timestamp[0], prev));
        const end = Math.max(start, clamp(c.timestamp[1], length));
        prev = start;
        return { start, end, text: c.text.trim() };
      })
      .filter((s) => s.text.length > 0);
  }

  /** Releases the ONNX sessions. */
  async close(): Promise<void> {
    await this.#asr.dispose();
  }
}

/** Words → segments: a new one after sentence-ending punctuation, a pause of 1 s, or 12 s of speech. */
export function groupWords(words: readonly Word[]): RawSegment[] {
  const segments: RawSegment[] = [];
  let current: Word[] = [];
  const close = () => {
    const text = current
      .map((w) => w.text)
      .join('')
      .trim();
    const first = current[0];
    const last = current[current.length - 1];
    if (first && last && text)
      segments.push({
        start: first.start,
        end: last.end,
        text,
        words: current.map((w) => ({ ...w, text: w.text.trim() })),
      });
    current = [];
  };
  for (const w of words) {
    const prev = current[current.length - 1];
    const first = current[0];
    if (prev && first && (w.start - prev.end >= 1 || w.end - first.start > 12)) close();
    current.push(w);
    if (/[.?!。？！]["')\]]?\s*$/.test(w.text)) close();
  }
  close();
  return segments;
}
