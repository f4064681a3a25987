/**
 * One session: live state with End session, the guest link, playback with waveforms and the
 * transcript, downloads (each track, or everything as one archive), participants with their
 * consent, the timeline, and deletion.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, messageOf } from '../ui/api.ts';
import { Async, Banner, Empty, Message, useLoad, TableScroll } from '../ui/components.tsx';
import { PendingDeletion } from '../ui/org.tsx';
import { size, when } from '../ui/format.ts';
import { me } from '../ui/session.tsx';
import { Playback } from './playback.tsx';
import { PrivateSession } from '../private/PrivateSession.tsx';
import type { Participant, SessionDetail, Track } from './session-types.ts';

/** The session page. */
export function SessionPage(props: { orgId: string; sessionId: string }): JSX.Element {
  const { orgId, sessionId } = props;
  const loaded = useLoad(async () => {
    await me();
    return api<SessionDetail>('GET', `/api/orgs/${orgId}/sessions/${sessionId}`);
  }, [orgId, sessionId]);
  return (
    <Async loaded={loaded} what="Loading the session…">
      {(s) => <SessionView s={s} orgId={orgId} reload={loaded.reload} />}
    </Async>
  );
}

function SessionView(props: { s: SessionDetail; orgId: string; reload: () => void }): JSX.Element {
  const { s, orgId } = props;
  const base = `/api/orgs/${orgId}/sessions/${s.id}`;
  const [error, setError] = useState<string | null>(null);
  const [ending, setEnding] = useState(false);
  const endSession = async () => {
    if (!window.confirm('End the session for everyone? Recording stops and the room closes.')) return;
    setEnding(true);
    try {
      await api('POST', `${base}/end`);
      props.reload();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setEnding(false);
    }
  };
  const live = s.status === 'open';
  return (
    <>
      <PendingDeletion orgId={orgId} />
      <h1>{s.title}</h1>
      <p class="row">
        <a href={`/orgs/${orgId}/sessions`}>← Sessions</a>
        <span class={`pill ${live ? 'good' : ''}`} id="session-state">
          {live ? 'live' : s.status}
        </span>
      </p>
      <div id="status">{error ? <Message text={error} /> : null}</div>
      {s.interrupted_at ? (
        <Banner kind="warn" id="interrupted">
          This session was interrupted on {when(s.interrupted_at)}: the media server stopped. Everything sealed before
          that is kept; the last second or two of each track may be missing.
        </Banner>
      ) : null}
      {live ? (
        <LiveActions
          orgId={orgId}
          sessionId={s.id}
          liveAvailable={s.live_available !== false}
          liveUnavailableReason={s.live_unavailable_reason ?? null}
          ending={ending}
          onEnd={() => void endSession()}
          onError={setError}
        />
      ) : null}
      {s.private_sealed_at ? (
        <PrivateSession orgId={orgId} sessionId={s.id} />
      ) : (
        <>
          <h2>Listen</h2>
          <Playback tracks={s.tracks} orgId={orgId} sessionId={s.id} />
          <h2>Tracks</h2>
          {s.tracks.length ? <Downloads s={s} base={base} /> : <Empty>Nothing recorded yet.</Empty>}
        </>
      )}
      <Participants participants={s.participants} />
      <Timeline s={s} />
      <DeleteRecording orgId={orgId} sessionId={s.id} onError={setError} />
    </>
  );
}

function LiveActions(props: {
  orgId: string;
  sessionId: string;
  liveAvailable: boolean;
  liveUnavailableReason: string | null;
  ending: boolean;
  onEnd: () => void;
  onError: (e: string) => void;
}): JSX.Element {
  const [guestUrl, setGuestUrl] = useState(sessionStorage.getItem(`guest:${props.sessionId}`));
  const newLink = async () => {
    try {
      const r = await api<{ guest_url: string }>(
        'POST',
        `/api/orgs/${props.orgId}/sessions/${props.sessionId}/guest-link`,
      );
      sessionStorage.setItem(`guest:${props.sessionId}`, r.guest_url);
      setGuestUrl(r.guest_url);
    } catch (err) {
      props.onError(messageOf(err));
    }
  };
  return (
    <>
      {props.liveAvailable ? null : (
        <Banner kind="warn" id="live-unavailable">
          {props.liveUnavailableReason ?? 'Live sessions are unavailable on this server: no media server is running.'}{' '}
          Recordings already made can still be played and downloaded.
        </Banner>
      )}
      <p class="row">
        <a class="btn" href={`/orgs/${props.orgId}/sessions/${props.sessionId}/room`}>
          Open the room
        </a>
        <button class="secondary" id="new-guest-link" onClick={() => void newLink()}>
          New guest link
        </button>
        <button class="danger" id="end-session" disabled={props.ending} onClick={props.onEnd}>
          End session
        </button>
      </p>
      <p id="guest-link">
        {guestUrl ? (
          <>
            Guest link: <code>{guestUrl}</code>
          </>
        ) : (
          'Guest links are shown once when made.'
        )}
      </p>
    </>
  );
}

function Downloads(props: { s: SessionDetail; base: string }): JSX.Element {
  const { s } = props;
  return (
    <>
      <p>
        <a class="btn secondary" id="download-archive" href={`${props.base}/archive`} download>
          Download everything (all tracks and the transcript, one .tar)
        </a>
      </p>
      <TableScroll label="Tracks">
        <table id="tracks">
          <thead>
            <tr>
              <th>Take</th>
              <th>Participant</th>
              <th>Kind</th>
              <th>Started</th>
              <th>Size</th>
              <th>
                <span class="visually-hidden">Download</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {s.tracks.map((t: Track) => (
              <tr key={t.id}>
                <td>{t.take}</td>
                <td>{t.participant}</td>
                <td>{t.kind}</td>
                <td>{when(t.started_at)}</td>
                <td>
                  {size(t.bytes)}
                  {t.lost_chunks ? <span class="pill bad">{`${t.lost_chunks} chunk(s) lost`}</span> : null}
                </td>
                <td>
                  <a href={t.download_url} aria-label={`Download ${t.participant}'s ${t.kind}, take ${t.take}`}>
                    Download
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
    </>
  );
}

function Participants(props: { participants: Participant[] }): JSX.Element {
  return (
    <>
      <h2>Participants</h2>
      {props.participants.length ? (
        <ul class="plain" id="participants">
          {props.participants.map((p) => (
            <li key={p.id} data-participant={p.id}>
              {`${p.display_name} (${p.role})`}
              {p.joined_at ? ` · joined ${when(p.joined_at)}` : ''}
              {p.consent ? (
                <span class="consent">
                  {' · '}
                  <span class="pill good">consented</span>
                  {` ${when(p.consent.at)} (text version ${p.consent.version})`}
                </span>
              ) : p.consent === null ? (
                <span class="consent muted"> · no consent recorded</span>
              ) : null}
            </li>
          ))}
        </ul>
      ) : (
        <Empty>Nobody has joined yet.</Empty>
      )}
    </>
  );
}

function Timeline(props: { s: SessionDetail }): JSX.Element {
  const names = new Map(props.s.participants.map((p) => [p.id, p.display_name]));
  return (
    <>
      <h2>Timeline</h2>
      {props.s.timeline.length ? (
        <ul class="plain" id="timeline">
          {props.s.timeline.map((e, i) => (
            <li key={i} class={e.kind === 'session.interrupted' ? 'error' : undefined}>
              {`${when(e.at)} · ${e.kind}`}
              {e.participant_id ? ` · ${names.get(e.participant_id) || ''}` : ''}
            </li>
          ))}
        </ul>
      ) : (
        <Empty>Nothing has happened yet.</Empty>
      )}
    </>
  );
}

function DeleteRecording(props: { orgId: string; sessionId: string; onError: (e: string) => void }): JSX.Element {
  const del = async () => {
    if (!window.confirm('Delete this recording for good?')) return;
    try {
      await api('DELETE', `/api/orgs/${props.orgId}/sessions/${props.sessionId}`);
      location.href = `/orgs/${props.orgId}/sessions`;
    } catch (err) {
      props.onError(messageOf(err));
    }
  };
  return (
    <>
      <h2>Delete</h2>
      <p class="muted">Deleting erases the recording's encryption key: its audio can never be decrypted again.</p>
      <button class="danger" id="delete-session" onClick={() => void del()}>
        Delete recording
      </button>
    </>
  );
}
