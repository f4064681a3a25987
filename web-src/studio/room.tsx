/**
 * The room: a tile per participant (video, name, speaking, connection), our mute and camera
 * toggles, the recording indicator and timer everyone sees, and for the host: Start
 * recording, Stop recording, End session, removing a participant, and live track health.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { TrackHealth } from '../../lib/signaling/messages.ts';
import { Banner, TableScroll } from '../ui/components.tsx';
import type { Call, CallSnapshot, Quality, RemotePeer } from './call.ts';
import { QualityBadge, RecordingIndicator, useSpeaking, VideoView } from './widgets.tsx';

/** The live room for one {@link Call}. */
export function Room(props: {
  call: Call;
  snap: CallSnapshot;
  stream: MediaStream;
  name: string;
  speaker: string;
}): JSX.Element {
  const { call, snap } = props;
  const [error, setError] = useState<string | null>(null);
  const [soundBlocked, setSoundBlocked] = useState(false);
  const enableSound = () => {
    setSoundBlocked(false);
    document.querySelectorAll<HTMLAudioElement>('#remote audio').forEach((a) => {
      a.play().catch(() => setSoundBlocked(true));
    });
  };
  const host = snap.role === 'host';
  const run = async (fn: () => Promise<void>) => {
    try {
      setError(null);
      await fn();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  const down = snap.phase === 'reconnecting';
  return (
    <section id="controls" aria-label="Room">
      <div class="toolbar">
        <strong id="title">{snap.title}</strong>
        <RecordingIndicator since={snap.recordingSince} />
        {down ? <span class="pill warn">Reconnecting…</span> : null}
        {host ? (
          <HostControls
            snap={snap}
            disabled={down}
            onStart={() => void run(() => call.host('startRecording'))}
            onStop={() => void run(() => call.host('stopRecording'))}
            onEnd={() => {
              if (window.confirm('End the session for everyone?')) void run(() => call.host('endSession'));
            }}
          />
        ) : null}
        <span class="spacer" />
        <button
          class="secondary toggle"
          id="mute"
          aria-pressed={snap.micMuted}
          onClick={() => void run(() => call.setMicMuted(!snap.micMuted))}
        >
          Mute
        </button>
        <button
          class="secondary toggle"
          id="camera"
          aria-pressed={snap.cameraOff}
          disabled={props.stream.getVideoTracks().length === 0}
          onClick={() => void run(() => call.setCameraOff(!snap.cameraOff))}
        >
          Camera off
        </button>
        <button class="secondary" id="leave" onClick={() => call.leave()}>
          Leave
        </button>
      </div>
      {error ? <Banner>{error}</Banner> : null}
      {soundBlocked ? <SoundBlocked onEnable={enableSound} /> : null}
      {snap.message && down ? <Banner kind="warn">{snap.message}</Banner> : null}
      <div class="tiles" id="tiles">
        <SelfTile
          stream={props.stream}
          name={props.name}
          host={host}
          muted={snap.micMuted}
          cameraOff={snap.cameraOff}
          quality={snap.selfQuality}
        />
        {snap.peers.map((p) => (
          <PeerTile key={p.info.id} peer={p} />
        ))}
      </div>
      <div id="remote" hidden>
        {snap.peers.map((p) =>
          p.audio ? (
            <PeerAudio
              key={p.info.id}
              peerId={p.info.id}
              track={p.audio}
              speaker={props.speaker}
              onBlocked={() => setSoundBlocked(true)}
            />
          ) : null,
        )}
      </div>
      <Participants snap={snap} name={props.name} onRemove={(id) => void run(() => call.remove(id))} />
      {host ? <HealthPanel health={snap.health} recording={snap.recording} /> : null}
    </section>
  );
}

function HostControls(props: {
  snap: CallSnapshot;
  disabled: boolean;
  onStart: () => void;
  onStop: () => void;
  onEnd: () => void;
}): JSX.Element {
  const { snap } = props;
  return (
    <div id="host-controls" class="row" role="group" aria-label="Host controls">
      <button id="start-rec" disabled={snap.recording || props.disabled} onClick={props.onStart}>
        Start recording
      </button>
      <button id="stop-rec" class="secondary" disabled={!snap.recording || props.disabled} onClick={props.onStop}>
        Stop recording
      </button>
      <button id="end" class="danger" disabled={props.disabled} onClick={props.onEnd}>
        End session
      </button>
    </div>
  );
}

function TileLabel(props: {
  name: string;
  host: boolean;
  muted: boolean;
  speaking: boolean;
  quality: Quality;
}): JSX.Element {
  return (
    <div class="label">
      <span class="name">{props.name}</span>
      {props.host ? <span>Host</span> : null}
      {props.muted ? <span>Muted</span> : null}
      {props.speaking ? <span class="speaking-text">Speaking</span> : null}
      <span class="corner">
        <QualityBadge quality={props.quality} />
      </span>
    </div>
  );
}

function SelfTile(props: {
  stream: MediaStream;
  name: string;
  host: boolean;
  muted: boolean;
  cameraOff: boolean;
  quality: Quality;
}): JSX.Element {
  const audio = props.stream.getAudioTracks()[0] ?? null;
  const speaking = useSpeaking(audio, props.muted);
  const label = `${props.name} (you)`;
  return (
    <figure class={`tile${speaking ? ' speaking' : ''}`} data-self="true" aria-label={label} style={{ margin: 0 }}>
      {props.cameraOff ? (
        <div class="no-video">{initials(props.name)}</div>
      ) : (
        <VideoView stream={props.stream} mirrored class="" label={`${props.name}'s camera`} />
      )}
      <TileLabel name={label} host={props.host} muted={props.muted} speaking={speaking} quality={props.quality} />
    </figure>
  );
}

function initials(name: string): string {
  return (
    name
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((w) => w[0]?.toUpperCase())
      .join('') || '?'
  );
}

/** Someone else: their video, name, speaking and connection (their voice plays in {@link PeerAudio}). */
function PeerTile(props: { peer: RemotePeer }): JSX.Element {
  const { peer } = props;
  const speaking = useSpeaking(peer.audio, peer.micMuted);
  const stream = useStream(peer.video);
  const name = peer.info.displayName;
  return (
    <figure
      class={`tile${speaking ? ' speaking' : ''}`}
      data-peer={peer.info.id}
      aria-label={name}
      style={{ margin: 0 }}
    >
      {peer.video && !peer.cameraOff ? (
        <VideoView stream={stream} class="" label={`${peer.info.displayName}'s camera`} />
      ) : (
        <div class="no-video">{initials(peer.info.displayName)}</div>
      )}
      <TileLabel
        name={name}
        host={peer.info.role === 'host'}
        muted={peer.micMuted}
        speaking={speaking}
        quality={peer.quality}
      />
    </figure>
  );
}

/** Plays one participant's voice through the chosen speaker. */
function PeerAudio(props: {
  peerId: string;
  track: MediaStreamTrack;
  speaker: string;
  onBlocked: () => void;
}): JSX.Element {
  const ref = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = new MediaStream([props.track]);
    if (props.speaker && 'setSinkId' in el) void el.setSinkId(props.speaker).catch(() => undefined);
    // After a reload nobody has clicked yet, and the browser may refuse to play sound.
    el.play().catch(() => props.onBlocked());
  }, [props.track, props.speaker]);
  return <audio ref={ref} autoplay data-peer={props.peerId} />;
}

/** Shown when the browser refused to play the others' voices until the visitor clicks. */
function SoundBlocked(props: { onEnable: () => void }): JSX.Element {
  return (
    <Banner kind="warn" id="sound-blocked">
      Your browser paused the other participants' sound.{' '}
      <button class="secondary" onClick={props.onEnable}>
        Turn on sound
      </button>
    </Banner>
  );
}

function useStream(track: MediaStreamTrack | null): MediaStream | null {
  const [s, setS] = useState<MediaStream | null>(null);
  useEffect(() => setS(track ? new MediaStream([track]) : null), [track]);
  return s;
}

function Participants(props: { snap: CallSnapshot; name: string; onRemove: (peerId: string) => void }): JSX.Element {
  const { snap } = props;
  const host = snap.role === 'host';
  return (
    <>
      <h2>In this session</h2>
      <ul id="peers" class="plain">
        <li data-peer={snap.peerId ?? ''} class="row">
          <span>{props.name} (you)</span>
          {host ? <span class="pill">Host</span> : null}
          <QualityBadge quality={snap.selfQuality} />
        </li>
        {snap.peers.map((p) => (
          <li key={p.info.id} data-peer={p.info.id} class="row">
            <span>{p.info.displayName}</span>
            {p.info.role === 'host' ? <span class="pill">Host</span> : null}
            <QualityBadge quality={p.quality} />
            {host && p.info.role !== 'host' ? (
              <button
                class="danger"
                aria-label={`Remove ${p.info.displayName}`}
                onClick={() => {
                  if (window.confirm(`Remove ${p.info.displayName} from the session?`)) props.onRemove(p.info.id);
                }}
              >
                Remove
              </button>
            ) : null}
          </li>
        ))}
      </ul>
    </>
  );
}

const fmt = (n: number | null, digits = 0) => (n === null ? '—' : n.toFixed(digits));

/** Per captured track: packets/s, loss, seconds since the last sealed chunk, seconds captured, stalls. */
function HealthPanel(props: { health: TrackHealth[]; recording: boolean }): JSX.Element {
  return (
    <section id="health" aria-labelledby="health-title">
      <h2 id="health-title">Track health</h2>
      {!props.recording ? (
        <p class="muted">Shown while recording: each track's packets, loss and what is safely stored.</p>
      ) : props.health.length === 0 ? (
        <p class="loading">Waiting for the first health report…</p>
      ) : (
        <TableScroll label="Track health">
          <table id="health-table">
            <thead>
              <tr>
                <th>Participant</th>
                <th>Track</th>
                <th class="num">Packets/s</th>
                <th class="num">Loss</th>
                <th class="num">Since last chunk</th>
                <th class="num">Captured</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {props.health.map((t) => (
                <tr
                  key={t.trackId}
                  class={t.stalled ? 'stalled' : undefined}
                  data-peer={t.peerId}
                  data-kind={t.kind}
                  data-pps={t.packetsPerSecond}
                >
                  <td>{t.displayName}</td>
                  <td>{t.kind}</td>
                  <td class="num">{fmt(t.packetsPerSecond)}</td>
                  <td class="num">{fmt(t.lossPercent, 1)}%</td>
                  <td class="num">{t.secondsSinceLastChunk === null ? '—' : `${fmt(t.secondsSinceLastChunk, 1)} s`}</td>
                  <td class="num">{fmt(t.secondsCaptured)} s</td>
                  <td>
                    {t.stalled ? (
                      <span class="pill bad" role="alert">
                        Stalled: no packets for over 2 s
                      </span>
                    ) : (
                      <span class="pill good">OK</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </section>
  );
}
