/**
 * Listening back on the session page: a player and a waveform per audio track, and the
 * transcript beside them. The line being spoken follows playback; a click on a line (or its
 * time) seeks every track of that take there.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf } from '../ui/api.ts';
import { Banner, Loading } from '../ui/components.tsx';
import type { Segment, Track } from './session-types.ts';
import { TranscriptPanel } from './transcript.tsx';

/** Where playback is: which take and how far into it (seconds). */
interface Playhead {
  take: number;
  time: number;
}

/** Per-track players with waveforms, and the transcript that follows them. */
export function Playback(props: { tracks: Track[]; orgId: string; sessionId: string }): JSX.Element {
  const audio = props.tracks.filter((t) => t.kind === 'audio');
  const players = useRef(new Map<string, { take: number; el: HTMLAudioElement }>());
  const [head, setHead] = useState<Playhead>({ take: audio[0]?.take ?? 1, time: 0 });
  const seek = (take: number, time: number) => {
    let playing = false;
    for (const p of players.current.values()) if (p.take === take && !p.el.paused) playing = true;
    for (const p of players.current.values()) {
      if (p.take !== take) continue;
      p.el.currentTime = time;
      if (playing) void p.el.play().catch(() => undefined);
    }
    setHead({ take, time });
  };
  return (
    <div class="player">
      <div id="players">
        {audio.length ? (
          audio.map((t) => (
            <TrackPlayer
              key={t.id}
              track={t}
              register={(el) => {
                if (el) players.current.set(t.id, { take: t.take, el });
                else players.current.delete(t.id);
              }}
              onTime={(time) => setHead({ take: t.take, time })}
              onSeek={(time) => seek(t.take, time)}
            />
          ))
        ) : (
          <p class="empty">No audio was recorded.</p>
        )}
      </div>
      <TranscriptPanel
        orgId={props.orgId}
        sessionId={props.sessionId}
        isCurrent={(s: Segment) => (s.take ?? head.take) === head.take && head.time >= s.start && head.time < s.end}
        onSeek={(s: Segment) => seek(s.take ?? head.take, s.start)}
      />
    </div>
  );
}

/** Loudest sample per bucket, 0..1, for drawing. */
function peaks(buffer: AudioBuffer, buckets: number): Float32Array {
  const data = buffer.getChannelData(0);
  const out = new Float32Array(buckets);
  const step = Math.max(1, Math.floor(data.length / buckets));
  for (let b = 0; b < buckets; b++) {
    let max = 0;
    const end = Math.min(data.length, (b + 1) * step);
    for (let i = b * step; i < end; i++) max = Math.max(max, Math.abs(data[i] ?? 0));
    out[b] = max;
  }
  return out;
}

interface Loaded {
  url: string;
  peaks: Float32Array;
  duration: number;
}

async function loadTrack(url: string): Promise<Loaded> {
  const res = await fetch(url, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`The track could not be loaded (${res.status}).`);
  const bytes = await res.arrayBuffer();
  const blob = new Blob([bytes], { type: res.headers.get('content-type') ?? 'audio/ogg' });
  const ctx = new OfflineAudioContext(1, 1, 48000);
  const decoded = await ctx.decodeAudioData(bytes.slice(0));
  return { url: URL.createObjectURL(blob), peaks: peaks(decoded, 800), duration: decoded.duration };
}

/** One audio track: its name, a player (decrypted on the server as it streams) and a waveform. */
function TrackPlayer(props: {
  track: Track;
  register: (el: HTMLAudioElement | null) => void;
  onTime: (t: number) => void;
  onSeek: (t: number) => void;
}): JSX.Element {
  const { track } = props;
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [time, setTime] = useState(0);
  useEffect(() => {
    let url: string | undefined;
    loadTrack(track.download_url).then(
      (l) => {
        url = l.url;
        setLoaded(l);
      },
      (err: unknown) => setError(messageOf(err)),
    );
    return () => {
      if (url) URL.revokeObjectURL(url);
    };
  }, [track.download_url]);
  const label = `${track.participant}, take ${track.take}`;
  return (
    <div class="track" data-track={track.id}>
      <h3>{label}</h3>
      {error ? <Banner>{error}</Banner> : null}
      {!loaded && !error ? <Loading what="Loading the audio…" /> : null}
      {loaded ? (
        <>
          <Waveform
            peaks={loaded.peaks}
            progress={loaded.duration ? time / loaded.duration : 0}
            label={`Waveform of ${label}`}
            onSeek={(f) => props.onSeek(f * loaded.duration)}
          />
          <audio
            ref={props.register}
            controls
            preload="auto"
            src={loaded.url}
            aria-label={`Play ${label}`}
            onTimeUpdate={(e) => {
              setTime(e.currentTarget.currentTime);
              props.onTime(e.currentTarget.currentTime);
            }}
            onSeeked={(e) => setTime(e.currentTarget.currentTime)}
          />
        </>
      ) : null}
    </div>
  );
}

/** A track's loudness over time; the part already played is darker; a click seeks there. */
function Waveform(props: {
  peaks: Float32Array;
  progress: number;
  label: string;
  onSeek: (fraction: number) => void;
}): JSX.Element {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    const g = c?.getContext('2d');
    if (!c || !g) return;
    const w = (c.width = c.clientWidth * devicePixelRatio);
    const h = (c.height = c.clientHeight * devicePixelRatio);
    g.clearRect(0, 0, w, h);
    const n = props.peaks.length;
    const played = props.progress * w;
    for (let x = 0; x < w; x++) {
      const p = props.peaks[Math.floor((x / w) * n)] ?? 0;
      const bar = Math.max(1, p * h * 0.95);
      g.fillStyle = x < played ? '#2a52c4' : '#9fb2e6';
      g.fillRect(x, (h - bar) / 2, 1, bar);
    }
  }, [props.peaks, props.progress]);
  return (
    <canvas
      ref={ref}
      class="waveform"
      role="img"
      aria-label={props.label}
      onClick={(e) => {
        const r = e.currentTarget.getBoundingClientRect();
        props.onSeek(Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)));
      }}
    />
  );
}
