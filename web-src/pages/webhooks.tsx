/**
 * The webhooks section of the organisation page (owners and admins): endpoints with their
 * events and state, adding one (its signing secret is shown once), sending a test event,
 * rotating the secret, enabling or disabling, deleting, and each endpoint's delivery log.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../ui/api.ts';
import {
  ActionsHeader,
  Async,
  Banner,
  Empty,
  Field,
  StatusBanner,
  TableScroll,
  useAct,
  useLoad,
} from '../ui/components.tsx';
import { when } from '../ui/format.ts';
import { WEBHOOK_EVENTS } from '../../lib/webhooks/events.ts';

interface Endpoint {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  disabled_reason: 'failing' | 'admin' | null;
  previous_secret_expires_at: string | null;
}

interface Delivery {
  id: string;
  event_id: string;
  type: string;
  state: string;
  attempts: { attempt: number; at: string; status: number | null; latency_ms: number; error: string | null }[];
  created_at: string;
  next_attempt_at: string | null;
}

function stateOf(e: Endpoint): string {
  if (e.enabled) return 'enabled';
  return e.disabled_reason === 'failing' ? 'disabled: deliveries kept failing' : 'disabled';
}

/** The section; renders nothing of its own until the endpoints are loaded. */
export function WebhooksSection(props: { orgId: string }): JSX.Element {
  const base = `/api/orgs/${props.orgId}/webhooks`;
  const loaded = useLoad(() => api<{ endpoints: Endpoint[] }>('GET', base), [props.orgId]);
  const { status, act } = useAct(loaded.reload);
  const [notice, setNotice] = useState<string | null>(null);
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);
  const [log, setLog] = useState<string | null>(null);
  return (
    <section aria-labelledby="webhooks-heading">
      <h2 id="webhooks-heading">Webhooks</h2>
      <p class="muted">
        Signed notifications (Standard Webhooks) when sessions end, recordings and transcripts are ready, exports finish
        and members join or leave.
      </p>
      <StatusBanner status={status} />
      {notice ? <Banner kind="ok">{notice}</Banner> : null}
      {secret ? (
        <Banner kind="warn" id="webhook-secret-banner">
          Signing secret for {secret.url}: <code id="webhook-secret">{secret.secret}</code>. Copy it now: it is not
          shown again.
        </Banner>
      ) : null}
      <Async loaded={loaded} what="Loading webhooks…">
        {({ endpoints }) =>
          endpoints.length ? (
            <TableScroll label="Webhook endpoints">
              <table id="webhooks">
                <thead>
                  <tr>
                    <th>URL</th>
                    <th>Events</th>
                    <th>State</th>
                    <ActionsHeader />
                  </tr>
                </thead>
                <tbody>
                  {endpoints.map((e) => (
                    <tr key={e.id}>
                      <td>{e.url}</td>
                      <td>{e.events.join(', ')}</td>
                      <td>{stateOf(e)}</td>
                      <td>
                        <button
                          class="secondary"
                          aria-label={`Send test event to ${e.url}`}
                          disabled={!e.enabled}
                          onClick={() =>
                            void act(async () => {
                              await api('POST', `${base}/${e.id}/test`);
                              setNotice(`Test event queued for ${e.url}.`);
                            })
                          }
                        >
                          Send test event
                        </button>{' '}
                        <button
                          class="secondary"
                          aria-label={`Delivery log of ${e.url}`}
                          aria-expanded={log === e.id}
                          onClick={() => setLog(log === e.id ? null : e.id)}
                        >
                          Delivery log
                        </button>{' '}
                        <button
                          class="secondary"
                          aria-label={`Rotate secret of ${e.url}`}
                          onClick={() =>
                            void act(async () => {
                              const r = await api<{ secret: string }>('POST', `${base}/${e.id}/rotate-secret`);
                              setSecret({ url: e.url, secret: r.secret });
                            })
                          }
                        >
                          Rotate secret
                        </button>{' '}
                        <button
                          class="secondary"
                          aria-label={`${e.enabled ? 'Disable' : 'Enable'} ${e.url}`}
                          onClick={() => void act(() => api('PATCH', `${base}/${e.id}`, { enabled: !e.enabled }))}
                        >
                          {e.enabled ? 'Disable' : 'Enable'}
                        </button>{' '}
                        <button
                          class="secondary"
                          aria-label={`Delete the webhook endpoint ${e.url}`}
                          onClick={() => {
                            if (confirm(`Delete the webhook endpoint ${e.url}?`))
                              void act(() => api('DELETE', `${base}/${e.id}`));
                          }}
                        >
                          Delete
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          ) : (
            <Empty id="webhooks-empty">No webhook endpoints yet.</Empty>
          )
        }
      </Async>
      {log ? (
        <DeliveryLog
          path={`${base}/${log}/deliveries`}
          url={loaded.data?.endpoints.find((e) => e.id === log)?.url ?? ''}
        />
      ) : null}
      <AddEndpoint
        onAdd={(url, events) =>
          act(async () => {
            const r = await api<{ secret: string }>('POST', base, { url, events });
            setSecret({ url, secret: r.secret });
          })
        }
      />
    </section>
  );
}

function AddEndpoint(props: { onAdd: (url: string, events: string[]) => Promise<void> }): JSX.Element {
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>(['recording.ready']);
  return (
    <form
      id="add-webhook"
      onSubmit={(e) => {
        e.preventDefault();
        void props.onAdd(url, events).then(() => setUrl(''));
      }}
    >
      <h3>Add an endpoint</h3>
      <Field label="Endpoint URL" hint="https:// only; private and internal addresses are refused.">
        <input
          type="url"
          id="webhook-url"
          required
          placeholder="https://example.com/webhooks"
          value={url}
          onInput={(e) => setUrl(e.currentTarget.value)}
        />
      </Field>
      <fieldset>
        <legend>Events</legend>
        {WEBHOOK_EVENTS.map((name) => (
          <label key={name} class="check">
            <input
              type="checkbox"
              checked={events.includes(name)}
              onChange={(e) =>
                setEvents(e.currentTarget.checked ? [...events, name] : events.filter((x) => x !== name))
              }
            />{' '}
            {name}
          </label>
        ))}
      </fieldset>
      <button type="submit" disabled={events.length === 0}>
        Add endpoint
      </button>
    </form>
  );
}

function DeliveryLog(props: { path: string; url: string }): JSX.Element {
  const loaded = useLoad(() => api<{ deliveries: Delivery[] }>('GET', props.path), [props.path]);
  return (
    <>
      <h3>
        Delivery log of {props.url}{' '}
        <button class="secondary" onClick={() => loaded.reload()}>
          Refresh
        </button>
      </h3>
      <Async loaded={loaded} what="Loading deliveries…">
        {({ deliveries }) =>
          deliveries.length ? (
            <TableScroll label="Webhook deliveries">
              <table id="webhook-deliveries">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Event</th>
                    <th>State</th>
                    <th>Attempts</th>
                    <th>Last answer</th>
                  </tr>
                </thead>
                <tbody>
                  {deliveries.map((d) => {
                    const last = d.attempts[d.attempts.length - 1];
                    return (
                      <tr key={d.id}>
                        <td>{when(d.created_at)}</td>
                        <td>
                          {d.type} <span class="muted">{d.event_id}</span>
                        </td>
                        <td>
                          {d.state}
                          {d.next_attempt_at && d.attempts.length ? ` (retry ${when(d.next_attempt_at)})` : ''}
                        </td>
                        <td>{d.attempts.length}</td>
                        <td>{last ? `${last.status ?? last.error ?? 'no answer'} in ${last.latency_ms} ms` : '—'}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </TableScroll>
          ) : (
            <Empty>Nothing sent yet.</Empty>
          )
        }
      </Async>
    </>
  );
}
