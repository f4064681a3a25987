/** An organisation's recording sessions, and starting a new one. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../ui/api.ts';
import { Async, Empty, Field, Message, useAct, useLoad, TableScroll } from '../ui/components.tsx';
import { when } from '../ui/format.ts';
import { createAndOpenSession, OrgFrame } from '../ui/org.tsx';

interface SessionRow {
  id: string;
  title: string;
  status: string;
  participant_count: number;
  track_count: number;
  created_at: string;
}

/** The sessions page. */
export function SessionsPage(props: { orgId: string }): JSX.Element {
  const { orgId } = props;
  return (
    <OrgFrame orgId={orgId} tab="sessions">
      {(c) => <Sessions orgId={orgId} readOnly={c.deletion.scheduled} />}
    </OrgFrame>
  );
}

function Sessions(props: { orgId: string; readOnly: boolean }): JSX.Element {
  const { orgId } = props;
  const loaded = useLoad(() => api<{ sessions: SessionRow[] }>('GET', `/api/orgs/${orgId}/sessions`), [orgId]);
  const [title, setTitle] = useState('');
  const { status, act } = useAct();
  const create = (e: Event) => {
    e.preventDefault();
    void act(() => createAndOpenSession(orgId, title));
  };
  return (
    <>
      <h2>Recording sessions</h2>
      <form id="create-session" onSubmit={create}>
        <Field label="Session title">
          <input
            name="title"
            id="session-title"
            required
            maxLength={200}
            placeholder="Episode 12 with …"
            value={title}
            onInput={(e) => setTitle(e.currentTarget.value)}
          />
        </Field>
        <button type="submit" disabled={props.readOnly}>
          New session
        </button>
      </form>
      {status ? <Message text={status.text} kind={status.kind} /> : null}
      <Async loaded={loaded} what="Loading sessions…">
        {({ sessions }) =>
          sessions.length ? (
            <TableScroll label="Sessions">
              <table id="sessions">
                <thead>
                  <tr>
                    <th>Title</th>
                    <th>Status</th>
                    <th>Participants</th>
                    <th>Tracks</th>
                    <th>Created</th>
                  </tr>
                </thead>
                <tbody>
                  {sessions.map((s) => (
                    <tr key={s.id}>
                      <td>
                        <a href={`/orgs/${orgId}/sessions/${s.id}`}>{s.title}</a>
                      </td>
                      <td>{s.status}</td>
                      <td>{s.participant_count}</td>
                      <td>{s.track_count}</td>
                      <td>{when(s.created_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          ) : (
            <Empty>No sessions yet. Give the first one a title above.</Empty>
          )
        }
      </Async>
    </>
  );
}
