/**
 * The models a transcription worker holds: the VAD and the speech model, loaded once per
 * process on first use and kept (loading a large Whisper takes seconds to minutes). A
 * failed load is not cached, so installing the model later needs no restart.
 */
import type { TranscriptionConfig } from '../core/config.ts';
import { SpeechModel } from './model.ts';
import { SileroVad } from './vad.ts';

export interface Engine {
  readonly vad: SileroVad;
  readonly model: SpeechModel;
}

let loading: Promise<Engine> | undefined;

/**
 * The process's engine for `config` (one model per process: the first config wins).
 * @throws TranscriptionError `model_not_installed`, `model_load_failed`.
 */
export function loadEngine(config: TranscriptionConfig): Promise<Engine> {
  loading ??= (async () => {
    const model = await SpeechModel.load({
      modelDir: config.modelDir,
      name: config.model,
      device: config.device,
      dtype: config.dtype,
      words: config.wordTimestamps,
    });
    return { vad: await SileroVad.load(), model };
  })().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

/** Releases the engine's sessions (process shutdown). */
export async function closeEngine(): Promise<void> {
  const current = loading;
  loading = undefined;
  const engine = await current?.catch(() => undefined);
  if (engine) await Promise.all([engine.vad.close(), engine.model.close()]);
}
