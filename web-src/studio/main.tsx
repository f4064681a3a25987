/**
 * Entry of the studio page (`/orgs/:org/sessions/:id/room` for hosts, `/join/:id#g=…` for
 * guests): the green room, then the room, then the end. A reload of a tab that was in the
 * room rejoins by itself as the same participant. Bundled into /static/room.bundle.js.
 */
import type { JSX } from 'preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { messageOf } from '../ui/api.ts';
import { Banner, Loading } from '../ui/components.tsx';
import { Call, type CallSnapshot } from './call.ts';
import { joinInfoSource, loadContext, remember, remembered, type StudioContext } from './context.ts';
import { GreenRoom, type JoinRequest } from './greenroom.tsx';
import { loadPrefs, mediaErrorText, openMedia } from './media.ts';
import { Room } from './room.tsx';
import { SignalError } from './signaling.ts';

const data = document.body.dataset;
const mode = data.mode === 'host' ? 'host' : 'guest';
const sessionId = data.session ?? '';
const orgId = data.org ?? '';

interface InRoom {
  call: Call;
  stream: MediaStream;
  name: string;
  speaker: string;
}

function joinErrorText(err: unknown): string {
  if (err instanceof SignalError && err.code === 'unreachable')
    return 'Cannot reach the media server. Live sessions may be unavailable on this server; try again in a minute.';
  return messageOf(err);
}

function Studio(): JSX.Element {
  const [ctx, setCtx] = useState<StudioContext | null>(null);
  const [fatal, setFatal] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [joinError, setJoinError] = useState<string | null>(null);
  const [room, setRoom] = useState<InRoom | null>(null);
  const [snap, setSnap] = useState<CallSnapshot | null>(null);

  const join = async (c: StudioContext, r: JoinRequest) => {
    setBusy(true);
    setJoinError(null);
    const call = new Call(r.stream, joinInfoSource(c, r.name), c.mode);
    call.subscribe(setSnap);
    try {
      await call.start();
      setRoom({ call, stream: r.stream, name: r.name, speaker: r.speaker });
      setSnap(call.snapshot);
    } catch (err) {
      setJoinError(joinErrorText(err));
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    loadContext(mode, sessionId, orgId).then(
      async (c) => {
        setCtx(c);
        // A reload of a tab that was in the room: straight back in, as the same participant.
        const mem = remembered(sessionId);
        if (mem?.inRoom && mem.consentVersion === c.consent.version && c.liveAvailable) {
          try {
            const prefs = loadPrefs();
            const { stream } = await openMedia(prefs);
            await join(c, { stream, name: mem.name, speaker: prefs.speaker });
          } catch (err) {
            setJoinError(mediaErrorText(err));
          }
        }
      },
      (err: unknown) => setFatal(messageOf(err)),
    );
  }, []);

  const phase = snap?.phase;
  useEffect(() => {
    document.body.dataset.joined = phase === 'joined' || phase === 'reconnecting' ? 'true' : 'false';
    if (phase && phase !== 'joined' && phase !== 'reconnecting' && phase !== 'connecting') {
      const mem = remembered(sessionId);
      if (mem) remember(sessionId, { ...mem, inRoom: false });
    }
  }, [phase]);

  let status: { text: string; kind: 'muted' | 'ok' | 'error' };
  if (fatal) status = { text: fatal, kind: 'error' };
  else if (!ctx) status = { text: 'Loading the session…', kind: 'muted' };
  else if (!snap || !room) status = { text: 'Check your microphone and camera, then join.', kind: 'muted' };
  else if (snap.phase === 'joined') status = { text: `Connected as ${snap.role}.`, kind: 'ok' };
  else if (snap.phase === 'reconnecting') status = { text: snap.message ?? 'Reconnecting…', kind: 'error' };
  else if (snap.phase === 'ended' || snap.phase === 'left')
    status = { text: snap.message ?? 'The session has ended.', kind: 'ok' };
  else status = { text: snap.message ?? 'Disconnected.', kind: 'error' };

  const live = room && snap && (snap.phase === 'joined' || snap.phase === 'reconnecting');
  const sessionUrl = mode === 'host' ? `/orgs/${orgId}/sessions/${sessionId}` : null;
  return (
    <>
      <p id="status" class={status.kind} role="status">
        {status.text}
      </p>
      {fatal ? <Banner>{fatal}</Banner> : null}
      {!ctx && !fatal ? <Loading what="Loading the session…" /> : null}
      {ctx && !room && !fatal ? (
        <GreenRoom ctx={ctx} busy={busy} error={joinError} onJoin={(r) => void join(ctx, r)} />
      ) : null}
      {live ? <Room call={room.call} snap={snap} stream={room.stream} name={room.name} speaker={room.speaker} /> : null}
      {room && snap && !live ? (
        <div class="card" id="after">
          <p>{snap.message}</p>
          {sessionUrl ? (
            <p>
              <a class="btn" href={sessionUrl}>
                Go to the session page
              </a>
            </p>
          ) : null}
        </div>
      ) : null}
    </>
  );
}

const main = document.getElementById('main');
if (main) {
  main.replaceChildren();
  render(<Studio />, main);
}
