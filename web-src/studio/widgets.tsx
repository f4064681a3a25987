/** Small studio pieces: a video element bound to a stream, level meters, the recording timer. */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { clock } from '../ui/format.ts';
import { LevelMeter } from './media.ts';
import type { Quality } from './call.ts';

/** A `<video>` playing `stream`'s video (muted: sound goes through its own element). */
export function VideoView(props: {
  stream: MediaStream | null;
  muted?: boolean;
  mirrored?: boolean;
  label: string;
  id?: string;
  class?: string;
}): JSX.Element {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const tracks = props.stream?.getVideoTracks() ?? [];
    el.srcObject = tracks.length ? new MediaStream(tracks) : null;
  }, [props.stream]);
  return (
    <video
      ref={ref}
      id={props.id}
      class={props.class ?? 'preview'}
      autoplay
      muted
      playsInline
      aria-label={props.label}
      style={props.mirrored ? { transform: 'scaleX(-1)' } : undefined}
    />
  );
}

/** Calls `fn` on every animation frame while mounted. */
function useFrame(fn: () => void, deps: readonly unknown[]): void {
  useEffect(() => {
    let id = 0;
    const tick = () => {
      fn();
      id = requestAnimationFrame(tick);
    };
    id = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(id);
  }, deps);
}

/** The live level of the stream's microphone, as a bar (a meter for assistive technology). */
export function MicMeter(props: { stream: MediaStream }): JSX.Element {
  const bar = useRef<HTMLDivElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const meter = useRef<LevelMeter | null>(null);
  useEffect(() => {
    const track = props.stream.getAudioTracks()[0];
    meter.current = track ? new LevelMeter(track) : null;
    return () => meter.current?.close();
  }, [props.stream]);
  let last = 0;
  useFrame(() => {
    const level = meter.current?.level() ?? 0;
    if (bar.current) bar.current.style.width = `${Math.round(level * 100)}%`;
    const pct = Math.round(level * 100);
    if (box.current && Math.abs(pct - last) >= 5) {
      last = pct;
      box.current.setAttribute('aria-valuenow', String(pct));
    }
  }, [props.stream]);
  return (
    <div
      class="meter"
      id="mic-level"
      ref={box}
      role="meter"
      aria-label="Microphone level"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={0}
    >
      <div ref={bar} />
    </div>
  );
}

/** Whether the track is carrying speech right now (level above a threshold, with a short hold). */
export function useSpeaking(track: MediaStreamTrack | null, muted = false): boolean {
  const [speaking, setSpeaking] = useState(false);
  useEffect(() => {
    if (!track || muted) {
      setSpeaking(false);
      return;
    }
    const meter = new LevelMeter(track);
    let lastLoud = 0;
    const id = window.setInterval(() => {
      const now = Date.now();
      if (meter.level() > 0.06) lastLoud = now;
      setSpeaking(now - lastLoud < 400);
    }, 100);
    return () => {
      window.clearInterval(id);
      meter.close();
    };
  }, [track, muted]);
  return speaking;
}

/** "● Recording 1:23" while recording, counting from when the take started. */
export function RecordingIndicator(props: { since: number | null }): JSX.Element {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (props.since === null) return;
    const id = window.setInterval(() => setNow(Date.now()), 250);
    return () => window.clearInterval(id);
  }, [props.since]);
  const recording = props.since !== null;
  const elapsed = recording ? (now - (props.since ?? now)) / 1000 : 0;
  return (
    <span id="rec-indicator" class="rec" hidden={!recording} role="status" aria-live="off">
      {recording ? (
        <>
          ● Recording <time id="rec-timer">{clock(elapsed)}</time>
        </>
      ) : (
        ''
      )}
    </span>
  );
}

const QUALITY_TEXT: Record<Quality, string> = {
  good: 'Good connection',
  fair: 'Fair connection',
  poor: 'Poor connection',
  unknown: 'Measuring connection…',
};

/** Connection quality as three bars with its words for screen readers. */
export function QualityBadge(props: { quality: Quality }): JSX.Element {
  const bars = { good: '▂▄▆', fair: '▂▄', poor: '▂', unknown: '…' }[props.quality];
  return (
    <span class={`quality-${props.quality}`} title={QUALITY_TEXT[props.quality]} data-quality={props.quality}>
      <span aria-hidden="true">{bars}</span>
      <span class="visually-hidden">{QUALITY_TEXT[props.quality]}</span>
    </span>
  );
}
