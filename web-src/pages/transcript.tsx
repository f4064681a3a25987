/**
 * The transcript on the session page: status while it runs (queued, running with progress,
 * done, failed with the reason), each line with speaker and times, exports and re-run. The
 * current line is highlighted and kept in view; a click on a line seeks playback there.
 */
import { Fragment, type JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf } from '../ui/api.ts';
import { Banner, Loading } from '../ui/components.tsx';
import { clock } from '../ui/format.ts';
import type { Segment, TranscriptAnswer } from './session-types.ts';

function stateText(run: TranscriptAnswer['run']): string {
  if (!run) return 'Not transcribed.';
  if (run.status === 'queued') return 'Queued for transcription…';
  if (run.status === 'running') return `Transcribing… ${Math.round(run.progress * 100)}%`;
  if (run.status === 'failed') return `Transcription failed: ${run.error ? run.error.message : 'unknown reason'}`;
  return 'Done.';
}

/** The transcript section; `isCurrent` and `onSeek` tie it to playback. */
export function TranscriptPanel(props: {
  orgId: string;
  sessionId: string;
  isCurrent: (s: Segment) => boolean;
  onSeek: (s: Segment) => void;
}): JSX.Element {
  const base = `/api/orgs/${props.orgId}/sessions/${props.sessionId}/transcript`;
  const [t, setT] = useState<TranscriptAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    let timer: number | undefined;
    api<TranscriptAnswer>('GET', base).then(
      (answer) => {
        if (!live) return;
        setT(answer);
        setError(null);
        const busy = answer.run && (answer.run.status === 'queued' || answer.run.status === 'running');
        if (busy) timer = window.setTimeout(() => setTick((n) => n + 1), 3000);
      },
      (err: unknown) => live && setError(messageOf(err)),
    );
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [base, tick]);
  const rerun = async () => {
    try {
      await api('POST', `${base}/rerun`);
      setTick((n) => n + 1);
    } catch (err) {
      setError(messageOf(err));
    }
  };
  const run = t?.run ?? null;
  const busy = run && (run.status === 'queued' || run.status === 'running');
  const tr = t?.transcript ?? null;
  return (
    <section id="transcript">
      <h2>Transcript</h2>
      {!t && !error ? <Loading what="Loading the transcript…" /> : null}
      {error ? <Banner>{error}</Banner> : null}
      {t ? (
        <p id="transcript-status" data-status={t.status}>
          {stateText(run)}{' '}
          {busy ? null : (
            <button class="secondary" id="transcript-rerun" onClick={() => void rerun()}>
              {run ? 'Transcribe again' : 'Transcribe'}
            </button>
          )}
        </p>
      ) : null}
      {tr ? (
        <p id="transcript-exports">
          Download:{' '}
          {['txt', 'srt', 'vtt', 'json'].map((f) => (
            <Fragment key={f}>
              <a href={`${base}/export?format=${f}`}>{f.toUpperCase()}</a>{' '}
            </Fragment>
          ))}
        </p>
      ) : null}
      {tr ? (
        tr.segments.length ? (
          <Lines segments={tr.segments} isCurrent={props.isCurrent} onSeek={props.onSeek} />
        ) : (
          <p class="muted">No speech was found.</p>
        )
      ) : null}
    </section>
  );
}

function Lines(props: {
  segments: Segment[];
  isCurrent: (s: Segment) => boolean;
  onSeek: (s: Segment) => void;
}): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const current = props.segments.findIndex(props.isCurrent);
  useEffect(() => {
    if (current < 0) return;
    const row = box.current?.querySelectorAll('tr')[current];
    row?.scrollIntoView({ block: 'nearest' });
  }, [current]);
  return (
    <div class="transcript-lines" ref={box}>
      <table id="transcript-segments">
        <tbody>
          {props.segments.map((s, i) => (
            <tr
              key={i}
              class={i === current ? 'current' : undefined}
              aria-current={i === current ? 'true' : undefined}
              onClick={() => props.onSeek(s)}
            >
              <td class="muted">
                <button
                  class="link"
                  title={`Play from ${clock(s.start)}`}
                  onClick={(e) => {
                    e.stopPropagation();
                    props.onSeek(s);
                  }}
                >
                  {`${clock(s.start)}–${clock(s.end)}`}
                </button>
              </td>
              <th scope="row">{s.speaker}</th>
              <td>{s.text}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
