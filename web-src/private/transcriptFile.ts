/**
 * A private transcript as a file, made in the page (the server cannot open it): plain text
 * in the server's TXT layout (server/transcription/transcript.ts), or the document as JSON.
 */
import type { PrivateSegment } from './reader.ts';

function clock(t: number): string {
  const ms = Math.max(0, Math.round(t * 1000));
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor((ms % 3_600_000) / 60_000))}:${pad(Math.floor((ms % 60_000) / 1000))}.${pad(ms % 1000, 3)}`;
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').replace(/-->/g, '→').trim();

/** `[00:00:01.200 - 00:00:03.400] Speaker: text`, one line per segment. */
export function transcriptTxt(segments: readonly PrivateSegment[]): Blob {
  const text = segments
    .map((s) => `[${clock(s.start)} - ${clock(s.end)}] ${oneLine(s.speaker)}: ${oneLine(s.text)}\n`)
    .join('');
  return new Blob([text], { type: 'text/plain; charset=utf-8' });
}

/** The decrypted document as JSON, as the server's JSON export writes it. */
export function transcriptJson(doc: unknown): Blob {
  return new Blob([JSON.stringify(doc, null, 2) + '\n'], { type: 'application/json; charset=utf-8' });
}
