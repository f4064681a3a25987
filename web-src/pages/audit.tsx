/**
 * The organisation's audit log (owners and admins): who did what to whom, by name or email
 * (a deleted account says so), filtered by action, actor and date range, paged by keyset
 * ("Show older"), and downloadable as CSV or JSON lines with exactly the rows the filter selects.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, messageOf } from '../ui/api.ts';
import { Async, Banner, Empty, Field, TableScroll, useLoad } from '../ui/components.tsx';
import { when } from '../ui/format.ts';
import { OrgFrame, type OrgContext } from '../ui/org.tsx';

interface Actor {
  id: string | null;
  email: string | null;
  name: string | null;
  deleted: boolean;
  /** An organisation API key acted: its name and public prefix. */
  api_key?: { name: string; prefix: string };
}

interface AuditEvent {
  id: string;
  at: string;
  action: string;
  actor: Actor | null;
  target: { type: string; id: string | null; label: string | null } | null;
  detail: Record<string, unknown>;
}

interface Facets {
  actions: string[];
  actors: Actor[];
}

/** The filter, as the page's query string and the API's. */
interface Filter {
  action: string;
  actor: string;
  /** Dates (yyyy-mm-dd), both inclusive for the user; `to` is sent as the next day (exclusive). */
  from: string;
  to: string;
}

const PAGE = 50;

function readFilter(): Filter {
  const q = new URLSearchParams(location.search);
  const date = (v: string | null) => (v && /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : '');
  return {
    action: q.get('action') ?? '',
    actor: q.get('actor') ?? '',
    from: date(q.get('from')),
    to: date(q.get('to')),
  };
}

function nextDay(d: string): string {
  const t = new Date(`${d}T00:00:00Z`);
  t.setUTCDate(t.getUTCDate() + 1);
  return t.toISOString().slice(0, 10);
}

/** The API's query for a filter (empty fields left out). */
function apiQuery(f: Filter): URLSearchParams {
  const q = new URLSearchParams();
  if (f.action) q.set('action', f.action);
  if (f.actor) q.set('actor', f.actor);
  if (f.from) q.set('from', f.from);
  if (f.to) q.set('to', nextDay(f.to));
  return q;
}

/** A person in words: name (email), or the email of a deleted account, an API key by name, or "System". */
export function actorLabel(a: Actor | null): string {
  if (!a) return 'System';
  if (a.api_key) return a.name ?? `API key (rec_${a.api_key.prefix}…)`;
  // A purged account keeps no address: the entry says only that it was deleted.
  if (a.deleted) return a.email ? `${a.email} (deleted account)` : 'Deleted account';
  return a.name ? `${a.name} (${a.email ?? ''})` : (a.email ?? a.id ?? 'unknown');
}

function detailText(d: Record<string, unknown>): string {
  return Object.entries(d)
    .filter(([k]) => k !== 'auth_session_id')
    .map(([k, v]) => `${k.replace(/_/g, ' ')}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
}

/** The audit log page. */
export function AuditPage(props: { orgId: string }): JSX.Element {
  return (
    <OrgFrame orgId={props.orgId} tab="audit">
      {(c) => (c.admin ? <Audit c={c} /> : <Banner kind="info">Only owners and admins can read the audit log.</Banner>)}
    </OrgFrame>
  );
}

function Audit(props: { c: OrgContext }): JSX.Element {
  const orgId = props.c.org.id;
  const [filter, setFilter] = useState<Filter>(readFilter);
  const [draft, setDraft] = useState<Filter>(filter);
  const facets = useLoad(() => api<Facets>('GET', `/api/orgs/${orgId}/audit/facets`), [orgId]);
  const apply = (f: Filter) => {
    setFilter(f);
    const q = new URLSearchParams(Object.entries(f).filter(([, v]) => v !== ''));
    history.replaceState(null, '', `${location.pathname}${q.size ? `?${q.toString()}` : ''}`);
  };
  const download = (format: 'csv' | 'jsonl') => {
    const q = apiQuery(filter);
    q.set('format', format);
    return `/api/orgs/${orgId}/audit/download?${q.toString()}`;
  };
  const set = (k: keyof Filter) => (e: Event) =>
    setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement | HTMLSelectElement).value });
  return (
    <>
      <h2>Audit log</h2>
      <form
        id="audit-filter"
        role="search"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          apply(draft);
        }}
      >
        <Field label="Action">
          <select id="filter-action" value={draft.action} onChange={set('action')}>
            <option value="">All actions</option>
            {(facets.data?.actions ?? []).map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Who">
          <select id="filter-actor" value={draft.actor} onChange={set('actor')}>
            <option value="">Anyone</option>
            {/* The API filters by id or address: a purged account has neither, so it is not offered. */}
            {(facets.data?.actors ?? [])
              .filter((a) => a.id ?? a.email)
              .map((a) => (
                <option key={a.id ?? a.email} value={a.id ?? a.email ?? ''}>
                  {actorLabel(a)}
                </option>
              ))}
          </select>
        </Field>
        <Field label="From">
          <input type="date" id="filter-from" value={draft.from} onInput={set('from')} />
        </Field>
        <Field label="To (inclusive)">
          <input type="date" id="filter-to" value={draft.to} onInput={set('to')} />
        </Field>
        <div class="row">
          <button type="submit">Apply filter</button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              const none = { action: '', actor: '', from: '', to: '' };
              setDraft(none);
              apply(none);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      {facets.error ? <Banner>{facets.error}</Banner> : null}
      <p class="row">
        <span class="muted">Download what the filter selects:</span>
        <a class="btn secondary" id="download-csv" href={download('csv')} download>
          CSV
        </a>
        <a class="btn secondary" id="download-jsonl" href={download('jsonl')} download>
          JSON lines
        </a>
      </p>
      <Events key={JSON.stringify(filter)} orgId={orgId} filter={filter} />
    </>
  );
}

/** The events for one filter, newest first, with "Show older" fetching the next keyset page. */
function Events(props: { orgId: string; filter: Filter }): JSX.Element {
  const { orgId, filter } = props;
  const [more, setMore] = useState<{ events: AuditEvent[]; cursor: string | null } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const page = (after: string | null) => {
    const q = apiQuery(filter);
    q.set('order', 'desc');
    q.set('limit', String(PAGE));
    if (after) q.set('after', after);
    return api<{ events: AuditEvent[]; next_cursor: string | null }>(
      'GET',
      `/api/orgs/${orgId}/audit/events?${q.toString()}`,
    );
  };
  const first = useLoad(() => page(null), [orgId]);
  const events = [...(first.data?.events ?? []), ...(more?.events ?? [])];
  const cursor = more ? more.cursor : (first.data?.next_cursor ?? null);
  const older = async () => {
    setBusy(true);
    try {
      const p = await page(cursor);
      setMore({ events: [...(more?.events ?? []), ...p.events], cursor: p.next_cursor });
      setError(null);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Async loaded={first} what="Loading the audit log…">
      {() =>
        events.length ? (
          <>
            <TableScroll label="Audit log">
              <table id="audit">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Who</th>
                    <th>What</th>
                    <th>To whom or what</th>
                    <th>Details</th>
                  </tr>
                </thead>
                <tbody>
                  {events.map((e) => (
                    <tr key={e.id} data-id={e.id}>
                      <td>
                        <time dateTime={e.at}>{when(e.at)}</time>
                      </td>
                      <td class={e.actor?.deleted ? 'muted' : ''}>{actorLabel(e.actor)}</td>
                      <td>
                        <code class="nowrap">{e.action}</code>
                      </td>
                      <td>{e.target ? (e.target.label ?? e.target.id ?? '') : ''}</td>
                      <td class="muted small">{detailText(e.detail)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
            <p class="row">
              <span class="muted" id="audit-count">
                {events.length} event{events.length === 1 ? '' : 's'} shown
              </span>
              {cursor ? (
                <button class="secondary" id="audit-older" disabled={busy} onClick={() => void older()}>
                  {busy ? 'Loading…' : 'Show older events'}
                </button>
              ) : null}
            </p>
            {error ? <Banner>{error}</Banner> : null}
          </>
        ) : (
          <Empty id="audit-empty">No events match this filter.</Empty>
        )
      }
    </Async>
  );
}
