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

interface Peaks {
  peaks: Float32Array;
  duration: number;
}

/**
 * The waveform's data: the whole file fetched once more and decoded. Started only after the
 * page has loaded, so it never competes with the player for the first bytes.
 */
async function loadPeaks(url: string, signal: AbortSignal): Promise<Peaks> {
  const res = await fetch(url, { credentials: 'same-origin', signal });
  if (!res.ok) throw new Error(`The waveform could not be loaded (${res.status}).`);
  const bytes = await res.arrayBuffer();
  const ctx = new OfflineAudioContext(1, 1, 48000);
  const decoded = await ctx.decodeAudioData(bytes);
  return { peaks: peaks(decoded, 800), duration: decoded.duration };
}

/** Runs `fn` once the page has finished loading (at once if it has). */
function afterPageLoad(fn: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const later = () => {
    timer = setTimeout(fn, 100);
  };
  if (document.readyState === 'complete') later();
  else window.addEventListener('load', later, { once: true });
  return () => {
    window.removeEventListener('load', later);
    if (timer !== undefined) clearTimeout(timer);
  };
}

/**
 * One audio track: its name, a player that streams it (the server decrypts as it sends,
 * and answers the Range requests the browser seeks with) and, drawn once it is fetched on
 * the side, a waveform.
 */
function TrackPlayer(props: {
  track: Track;
  register: (el: HTMLAudioElement | null) => void;
  onTime: (t: number) => void;
  onSeek: (t: number) => void;
}): JSX.Element {
  const { track } = props;
  const [wave, setWave] = useState<Peaks | null>(null);
  const [waveError, setWaveError] = useState<string | null>(null);
  const [playError, setPlayError] = useState<string | null>(null);
  const [time, setTime] = useState(0);
  const [duration, setDuration] = useState(0);
  useEffect(() => {
    const abort = new AbortController();
    const cancel = afterPageLoad(() => {
      loadPeaks(track.download_url, abort.signal).then(setWave, (err: unknown) => {
        if (!abort.signal.aborted) setWaveError(messageOf(err));
      });
    });
    return () => {
      cancel();
      abort.abort();
    };
  }, [track.download_url]);
  const label = `${track.participant}, take ${track.take}`;
  const length = duration || wave?.duration || 0;
  const onDuration = (e: { currentTarget: HTMLAudioElement }) => {
    const d = e.currentTarget.duration;
    if (Number.isFinite(d) && d > 0) setDuration(d);
  };
  return (
    <div class="track" data-track={track.id}>
      <h3>{label}</h3>
      {playError ? <Banner>{playError}</Banner> : null}
      {wave ? (
        <Waveform
          peaks={wave.peaks}
          progress={length ? time / length : 0}
          label={`Waveform of ${label}`}
          onSeek={(f) => props.onSeek(f * length)}
        />
      ) : waveError ? (
        <p class="empty">{waveError}</p>
      ) : (
        <Loading what="Drawing the waveform…" />
      )}
      <audio
        ref={props.register}
        controls
        preload="metadata"
        src={track.download_url}
        aria-label={`Play ${label}`}
        onLoadedMetadata={onDuration}
        onDurationChange={onDuration}
        onError={() => setPlayError('The track could not be played.')}
        onTimeUpdate={(e) => {
          setTime(e.currentTarget.currentTime);
          props.onTime(e.currentTarget.currentTime);
        }}
        onSeeked={(e) => setTime(e.currentTarget.currentTime)}
      />
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
