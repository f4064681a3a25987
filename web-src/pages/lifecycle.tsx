/** Retention, export and deletion on the org page (owners and admins). */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, messageOf } from '../ui/api.ts';
import { Async, Message, useLoad } from '../ui/components.tsx';
import { when } from '../ui/format.ts';
import type { Org } from './org.tsx';

interface Lifecycle {
  retention: { retention_days: number | null; next_sweep_at: string; due_at_next_sweep: unknown[] };
  deletion: { scheduled: boolean; due_at?: string };
  exports: {
    id: string;
    created_at: string;
    status: string;
    sessions_done: number;
    sessions_total: number;
    download_url?: string | null;
    expires_at?: string | null;
  }[];
}

async function loadLifecycle(orgId: string): Promise<Lifecycle> {
  const [retention, deletion, exp] = await Promise.all([
    api<Lifecycle['retention']>('GET', `/api/orgs/${orgId}/retention`),
    api<Lifecycle['deletion']>('GET', `/api/orgs/${orgId}/deletion`),
    api<{ exports: Lifecycle['exports'] }>('GET', `/api/orgs/${orgId}/exports`),
  ]);
  return { retention, deletion, exports: exp.exports };
}

/** Retention, export and (for owners) deletion of the organisation. */
export function LifecycleSection(props: { org: Org }): JSX.Element {
  const loaded = useLoad(() => loadLifecycle(props.org.id), [props.org.id]);
  return (
    <section id="lifecycle">
      <Async loaded={loaded} what="Loading retention and exports…">
        {(d) => <LifecycleView {...d} org={props.org} reload={loaded.reload} />}
      </Async>
    </section>
  );
}

function LifecycleView(props: Lifecycle & { org: Org; reload: () => void }): JSX.Element {
  const { org, retention, deletion, exports } = props;
  const orgId = org.id;
  const [days, setDays] = useState(retention.retention_days === null ? '' : String(retention.retention_days));
  const [recipient, setRecipient] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [confirmName, setConfirmName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const act = (fn: () => Promise<unknown>) => async (e?: Event) => {
    e?.preventDefault();
    try {
      await fn();
      location.reload();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <>
      <h2>Retention</h2>
      <p class="muted">
        Next sweep {when(retention.next_sweep_at)}: {retention.due_at_next_sweep.length} recording(s) will be erased.
      </p>
      <form
        id="retention"
        onSubmit={(e) =>
          void act(() => api('PUT', `/api/orgs/${orgId}/retention`, { retention_days: days ? Number(days) : null }))(e)
        }
      >
        <input
          id="retention-days"
          type="number"
          min={1}
          max={36500}
          placeholder="keep until deleted"
          aria-label="Retention in days"
          value={days}
          onInput={(e) => setDays(e.currentTarget.value)}
        />
        <span class="muted">days</span>
        <button type="submit">Save retention</button>
      </form>
      <h2>Export everything</h2>
      <form
        id="export"
        onSubmit={(e) =>
          void act(() =>
            api(
              'POST',
              `/api/orgs/${orgId}/exports`,
              recipient.trim() ? { recipient: recipient.trim() } : { passphrase },
            ),
          )(e)
        }
      >
        <input
          id="export-recipient"
          placeholder="age1… recipient"
          aria-label="age recipient"
          value={recipient}
          onInput={(e) => setRecipient(e.currentTarget.value)}
        />
        <input
          id="export-passphrase"
          type="password"
          placeholder="or a passphrase (12+ characters)"
          aria-label="Passphrase"
          value={passphrase}
          onInput={(e) => setPassphrase(e.currentTarget.value)}
        />
        <button type="submit">Start export</button>
      </form>
      <ul class="plain" id="exports">
        {exports.map((x) => (
          <li key={x.id}>
            {`${when(x.created_at)}: ${x.status}`}
            {x.status === 'running' ? ` (${x.sessions_done}/${x.sessions_total} sessions)` : ''}{' '}
            {x.download_url ? <a href={x.download_url}>Download (until {when(x.expires_at ?? '')})</a> : null}
          </li>
        ))}
      </ul>
      {org.role === 'owner' ? (
        <>
          <h2>Delete the organization</h2>
          {deletion.scheduled ? (
            <>
              <p class="error">
                Scheduled for deletion on {when(deletion.due_at ?? '')}. The organization is read-only until then.
              </p>
              <button
                id="cancel-deletion"
                onClick={() => void act(() => api('DELETE', `/api/orgs/${orgId}/deletion`))()}
              >
                Cancel the deletion
              </button>
            </>
          ) : (
            <form
              id="delete-org"
              onSubmit={(e) =>
                void act(() => api('POST', `/api/orgs/${orgId}/deletion`, { confirm_name: confirmName }))(e)
              }
            >
              <input
                id="delete-org-name"
                placeholder={org.name}
                aria-label="Type the organization name to confirm"
                value={confirmName}
                onInput={(e) => setConfirmName(e.currentTarget.value)}
              />
              <button type="submit" class="danger">
                Delete in 7 days
              </button>
            </form>
          )}
        </>
      ) : null}
      {error ? <Message text={error} /> : null}
    </>
  );
}
