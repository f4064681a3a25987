/**
 * One transcription, track by track, all in memory: decrypted RTP → 16 kHz PCM (decode),
 * speech regions (VAD), speech windows → text with times (model); window offsets and the
 * take's offset are added back, so every time is a time in the session. Knows nothing of
 * Postgres or storage: the job (server/jobs/transcribe.ts) feeds it tracks, the benchmark
 * feeds it files.
 */
import type { RecordSource } from '../../lib/media/source.ts';
import { decodeOpusTrack, PCM_RATE } from './audio.ts';
import { RunAbortedError } from './errors.ts';
import type { SpeechModel } from './model.ts';
import { mergeSegments, type Segment } from './transcript.ts';
import { speechRegions, speechWindows, type SileroVad, type VadOptions, type Region } from './vad.ts';

/** One participant's audio track, opened lazily. */
export interface TrackInput {
  trackId: string;
  participantId: string;
  speaker: string;
  take: number;
  /** Seconds from the session's first take to this track's take: added to every time. */
  offsetS: number;
  /** Wall-clock start of the take (µs since the epoch): sample 0 of the track's PCM. */
  originUs: bigint;
  payloadType: number | undefined;
  /** The track's RTP records in capture order (decrypted on the fly, never written anywhere). */
  records(): RecordSource;
}

/** Seconds spent in each stage. */
export interface StageTimes {
  decode: number;
  vad: number;
  model: number;
}

export type Stage = 'decode' | 'vad' | 'model';

export interface PipelineOptions {
  /** ISO 639-1 code, or 'auto' to detect per track. */
  language: string;
  vad?: VadOptions;
  /** Called as work advances: the stage and the fraction of the whole run done (0..1). */
  onProgress?: (stage: Stage, fraction: number) => void;
  /** Stops the run between steps with {@link RunAbortedError}. */
  signal?: AbortSignal;
}

export interface PipelineResult {
  segments: Segment[];
  /** The language of most speech (configured, or detected). */
  language: string;
  audioSeconds: number;
  speechSeconds: number;
  times: StageTimes;
  /** Per track: its speech regions in session seconds (for checks and the benchmark). */
  regions: Map<string, Region[]>;
}

const now = () => performance.now() / 1000;

/** Runs decode → VAD → model over every track and merges the result into one conversation. */
export async function transcribeTracks(
  engine: { vad: SileroVad; model: SpeechModel },
  tracks: readonly TrackInput[],
  o: PipelineOptions,
): Promise<PipelineResult> {
  const times: StageTimes = { decode: 0, vad: 0, model: 0 };
  const perTrack: Segment[][] = [];
  const regionsByTrack = new Map<string, Region[]>();
  const speechByLanguage = new Map<string, number>();
  let audioSeconds = 0;
  let speechSeconds = 0;
  const share = 1 / Math.max(1, tracks.length);
  const check = () => {
    if (o.signal?.aborted) throw new RunAbortedError();
  };
  for (const [i, track] of tracks.entries()) {
    const base = i * share;
    check();
    o.onProgress?.('decode', base);
    let t = now();
    const pcm = await decodeOpusTrack(track.records(), { originUs: track.originUs, payloadType: track.payloadType });
    times.decode += now() - t;
    const lengthS = pcm.length / PCM_RATE;
    audioSeconds += lengthS;
    check();
    o.onProgress?.('vad', base + share * 0.1);
    t = now();
    const probs = await engine.vad.probabilities(pcm);
    const regions = speechRegions(probs, lengthS, o.vad);
    const windows = speechWindows(regions, probs, o.vad);
    times.vad += now() - t;
    regionsByTrack.set(
      track.trackId,
      regions.map((r) => ({ start: r.start + track.offsetS, end: r.end + track.offsetS })),
    );
    const slice = (w: Region) =>
      pcm.subarray(Math.floor(w.start * PCM_RATE), Math.min(pcm.length, Math.ceil(w.end * PCM_RATE)));
    const segments: Segment[] = [];
    let language = o.language;
    t = now();
    if (language === 'auto' && windows[0]) language = await engine.model.detectLanguage(slice(windows[0]));
    for (const [k, w] of windows.entries()) {
      check();
      o.onProgress?.('model', base + share * (0.2 + (0.8 * k) / windows.length));
      const audio = slice(w);
      speechSeconds += audio.length / PCM_RATE;
      speechByLanguage.set(language, (speechByLanguage.get(language) ?? 0) + audio.length / PCM_RATE);
      const offset = w.start + track.offsetS;
      for (const s of await engine.model.transcribe(audio, language)) {
        segments.push({
          start: s.start + offset,
          end: s.end + offset,
          speaker: track.speaker,
          participant_id: track.participantId,
          track_id: track.trackId,
          take: track.take,
          text: s.text,
          ...(s.words
            ? { words: s.words.map((x) => ({ text: x.text, start: x.start + offset, end: x.end + offset })) }
            : {}),
        });
      }
    }
    times.model += now() - t;
    perTrack.push(segments);
  }
  o.onProgress?.('model', 1);
  const language =
    [...speechByLanguage.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? (o.language === 'auto' ? 'en' : o.language);
  return { segments: mergeSegments(perTrack), language, audioSeconds, speechSeconds, times, regions: regionsByTrack };
}
