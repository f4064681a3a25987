/**
 * The transcript document (what is sealed in object storage) and its exports: plain text,
 * SubRip (SRT), WebVTT and JSON. Times are seconds from the session's first take.
 */
import type { Word } from './model.ts';

/** One line of the conversation. */
export interface Segment {
  start: number;
  end: number;
  /** The participant's display name (each track is one participant). */
  speaker: string;
  participant_id: string;
  track_id: string;
  take: number;
  text: string;
  /** Word times, where the model gives them. */
  words?: Word[];
}

/** A whole transcript, as stored (sealed) and as exported in JSON. */
export interface Transcript {
  version: 1;
  run_id: string;
  session_id: string;
  model: string;
  device: string;
  /** ISO 639-1 code: the configured language or the detected one. */
  language: string;
  created_at: string;
  /** Seconds of audio decoded, all tracks together. */
  audio_seconds: number;
  /** Seconds of it the VAD found speech in (what the model was given). */
  speech_seconds: number;
  speakers: { participant_id: string; name: string }[];
  segments: Segment[];
}

/** Export formats. */
export const EXPORT_FORMATS = ['txt', 'srt', 'vtt', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Merges per-track segment lists into one conversation ordered by start time (then speaker). */
export function mergeSegments(lists: readonly Segment[][]): Segment[] {
  return lists.flat().sort((a, b) => a.start - b.start || a.end - b.end || a.speaker.localeCompare(b.speaker));
}

const round = (t: number) => Math.round(t * 1000) / 1000;

/** Rounds times to milliseconds (what every format can show) without breaking order. */
export function tidy(segments: readonly Segment[]): Segment[] {
  return segments.map((s) => ({
    ...s,
    start: round(s.start),
    end: Math.max(round(s.start), round(s.end)),
    ...(s.words
      ? {
          words: s.words.map((w) => ({
            text: w.text,
            start: round(w.start),
            end: Math.max(round(w.start), round(w.end)),
          })),
        }
      : {}),
  }));
}

function clock(t: number, sep: '.' | ','): string {
  const ms = Math.max(0, Math.round(t * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${sep}${pad(ms % 1000, 3)}`;
}

/** One line of text: no line breaks, no cue-timing arrows. */
const oneLine = (s: string) => s.replace(/\s+/g, ' ').replace(/-->/g, '→').trim();

/** Cues need a visible duration: a zero-length segment is shown for 10 ms. */
const cueEnd = (s: Segment) => Math.max(s.end, s.start + 0.01);

/** `[00:00:01.200 - 00:00:03.400] Speaker: text`, one line per segment. */
export function toTxt(t: Transcript): string {
  return t.segments
    .map((s) => `[${clock(s.start, '.')} - ${clock(s.end, '.')}] ${oneLine(s.speaker)}: ${oneLine(s.text)}\n`)
    .join('');
}

/** SubRip: numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, the speaker before the text. */
export function toSrt(t: Transcript): string {
  return t.segments
    .map(
      (s, i) =>
        `${i + 1}\n${clock(s.start, ',')} --> ${clock(cueEnd(s), ',')}\n${oneLine(s.speaker)}: ${oneLine(s.text) || '…'}\n\n`,
    )
    .join('');
}

const vttEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** WebVTT with the speaker as a voice span (`<v Name>text`). */
export function toVtt(t: Transcript): string {
  const cues = t.segments.map(
    (s) =>
      `${clock(s.start, '.')} --> ${clock(cueEnd(s), '.')}\n<v ${vttEscape(oneLine(s.speaker))}>${vttEscape(oneLine(s.text))}\n\n`,
  );
  return `WEBVTT\n\n${cues.join('')}`;
}

/** The export of `t` in `format`: body, content type and file extension. */
export function exportTranscript(t: Transcript, format: ExportFormat): { body: string; contentType: string } {
  switch (format) {
    case 'txt':
      return { body: toTxt(t), contentType: 'text/plain; charset=utf-8' };
    case 'srt':
      return { body: toSrt(t), contentType: 'application/x-subrip; charset=utf-8' };
    case 'vtt':
      return { body: toVtt(t), contentType: 'text/vtt; charset=utf-8' };
    case 'json':
      return { body: JSON.stringify(t, null, 2) + '\n', contentType: 'application/json; charset=utf-8' };
  }
}
