/**
 * Home: the sessions of all the visitor's organisations, newest first, each with its state
 * (live, recording, ended, transcribing, ready, failed) and what to do next; and a button to
 * start a new session.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, messageOf } from '../ui/api.ts';
import {
  Async,
  Banner,
  Card,
  Empty,
  Field,
  PageHeader,
  StatusBanner,
  TableScroll,
  useAct,
  useLoad,
} from '../ui/components.tsx';
import { ago } from '../ui/format.ts';
import { me, type Membership } from '../ui/session.tsx';
import { createAndOpenSession } from '../ui/org.tsx';

type State = 'live' | 'recording' | 'ended' | 'transcribing' | 'ready' | 'failed';
type NextAction = 'join' | 'open' | 'wait' | 'view_transcript' | 'retry_transcript';

interface HomeSession {
  id: string;
  org_id: string;
  org_name: string;
  title: string;
  state: State;
  created_at: string;
  track_count: number;
  next_action: NextAction;
}

const STATES: Record<State, { label: string; pill: string }> = {
  recording: { label: 'Recording', pill: 'bad' },
  live: { label: 'Live', pill: 'good' },
  ended: { label: 'Ended', pill: '' },
  transcribing: { label: 'Transcribing', pill: 'warn' },
  ready: { label: 'Ready', pill: 'good' },
  failed: { label: 'Transcription failed', pill: 'bad' },
};

async function loadHome(): Promise<{ memberships: Membership[]; sessions: HomeSession[] }> {
  const { memberships } = await me();
  const { sessions } = await api<{ sessions: HomeSession[] }>('GET', '/api/home?limit=50');
  return { memberships, sessions };
}

/** The home page. */
export function HomePage(): JSX.Element {
  const loaded = useLoad(loadHome);
  const [creating, setCreating] = useState(false);
  return (
    <>
      <PageHeader title="Your sessions">
        <button id="new-session" aria-expanded={creating} onClick={() => setCreating(!creating)}>
          New session
        </button>
      </PageHeader>
      <Async loaded={loaded} what="Loading your sessions…">
        {(d) => (
          <>
            {creating ? <NewSession memberships={d.memberships} /> : null}
            {d.sessions.length ? (
              <SessionTable sessions={d.sessions} reload={loaded.reload} />
            ) : d.memberships.length ? (
              <Empty id="home-empty">No sessions yet. Start one with “New session”.</Empty>
            ) : (
              <Empty id="home-empty">
                You are not in any organization yet. <a href="/orgs">Create one</a> or open an invitation you were sent.
              </Empty>
            )}
          </>
        )}
      </Async>
    </>
  );
}

function NewSession(props: { memberships: Membership[] }): JSX.Element {
  const [title, setTitle] = useState('');
  const [org, setOrg] = useState(props.memberships[0]?.id ?? '');
  const { status, act } = useAct();
  if (!props.memberships.length)
    return (
      <Banner kind="info">
        Sessions belong to an organization. <a href="/orgs">Create an organization</a> first.
      </Banner>
    );
  const create = (e: Event) => {
    e.preventDefault();
    void act(() => createAndOpenSession(org, title));
  };
  return (
    <Card title="New session" id="new-session-card">
      <form id="create-session" onSubmit={create}>
        <Field label="Title">
          <input
            id="session-title"
            required
            maxLength={200}
            placeholder="Episode 12 with …"
            value={title}
            onInput={(e) => setTitle(e.currentTarget.value)}
          />
        </Field>
        {props.memberships.length > 1 ? (
          <Field label="Organization">
            <select id="session-org" value={org} onChange={(e) => setOrg(e.currentTarget.value)}>
              {props.memberships.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                </option>
              ))}
            </select>
          </Field>
        ) : null}
        <button type="submit">Create and open</button>
      </form>
      <StatusBanner status={status} />
    </Card>
  );
}

function SessionTable(props: { sessions: HomeSession[]; reload: () => void }): JSX.Element {
  return (
    <TableScroll label="Your sessions">
      <table id="home-sessions">
        <thead>
          <tr>
            <th>Session</th>
            <th>State</th>
            <th>Next</th>
          </tr>
        </thead>
        <tbody>
          {props.sessions.map((s) => (
            <tr key={s.id} data-session={s.id} data-state={s.state}>
              <td>
                <a href={`/orgs/${s.org_id}/sessions/${s.id}`}>{s.title}</a>
                <div class="muted small">
                  {s.org_name} · created {ago(s.created_at)} · {s.track_count} track{s.track_count === 1 ? '' : 's'}
                </div>
              </td>
              <td>
                <span class={`pill ${STATES[s.state].pill}`}>{STATES[s.state].label}</span>
              </td>
              <td class="next-step">
                <Next s={s} reload={props.reload} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}

function Next(props: { s: HomeSession; reload: () => void }): JSX.Element {
  const { s } = props;
  const [error, setError] = useState<string | null>(null);
  const page = `/orgs/${s.org_id}/sessions/${s.id}`;
  switch (s.next_action) {
    case 'join':
      return (
        <a class="btn" href={`${page}/room`} aria-label={`Join the room of ${s.title}`}>
          Join the room
        </a>
      );
    case 'wait':
      return <span class="muted">The transcript is on its way.</span>;
    case 'view_transcript':
      return (
        <a href={`${page}#transcript`} aria-label={`Read the transcript of ${s.title}`}>
          Read the transcript
        </a>
      );
    case 'retry_transcript':
      return (
        <>
          <button
            class="secondary"
            aria-label={`Retry transcription of ${s.title}`}
            onClick={() =>
              void api('POST', `/api/orgs/${s.org_id}/sessions/${s.id}/transcript/rerun`).then(
                props.reload,
                (e: unknown) => setError(messageOf(e)),
              )
            }
          >
            Retry transcription
          </button>
          {error ? <div class="error small">{error}</div> : null}
        </>
      );
    default:
      return (
        <a href={page} aria-label={`Listen and download ${s.title}`}>
          Listen and download
        </a>
      );
  }
}
