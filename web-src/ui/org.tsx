/**
 * The frame of every organisation page: the organisation's name, its tabs (those the
 * visitor's role may use), and while a deletion is pending, a banner with the date and (for
 * owners) a cancel button. Pages render inside it and get the visitor and their role.
 */
import type { ComponentChildren, JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, messageOf } from './api.ts';
import { Async, Banner, useLoad, type Loaded } from './components.tsx';
import { day, when } from './format.ts';
import { me, type User } from './session.tsx';

/**
 * Creates a recording session in `orgId` and opens it; the guest link is kept for this tab
 * (the session page shows it). Used by the dashboard and the Sessions tab.
 * @throws ApiError when the API refuses (the page shows its message).
 */
export async function createAndOpenSession(orgId: string, title: string): Promise<void> {
  const s = await api<{ id: string; guest_url: string }>('POST', `/api/orgs/${orgId}/sessions`, { title });
  sessionStorage.setItem(`guest:${s.id}`, s.guest_url);
  location.href = `/orgs/${orgId}/sessions/${s.id}`;
}

/** A member's role in an organisation. */
export type Role = 'owner' | 'admin' | 'member';

/** `GET /api/orgs/:id`. */
export interface Org {
  id: string;
  name: string;
  role: Role;
  member_count: number;
}

/** `GET /api/orgs/:id/deletion`. */
export interface Deletion {
  scheduled: boolean;
  due_at: string | null;
}

/** What a page inside the frame knows about the visitor and the organisation. */
export interface OrgContext {
  user: User;
  org: Org;
  deletion: Deletion;
  /** Owner or admin: may manage members, settings, exports and billing. */
  admin: boolean;
  owner: boolean;
  /** Loads the frame (org name, deletion) again, e.g. after a rename. */
  reload: () => void;
}

/** Billing is on for this server (the page shell says so: no request to find out). */
export function billingOn(): boolean {
  return document.body.dataset.billing === 'on';
}

/** The tabs of an organisation's pages. */
export type OrgTab = 'members' | 'sessions' | 'usage' | 'audit' | 'settings' | 'export' | 'billing' | 'integrations';

const TABS: { tab: OrgTab; label: string; path: string; admin: boolean; billing?: boolean }[] = [
  { tab: 'members', label: 'Members', path: '', admin: false },
  { tab: 'sessions', label: 'Sessions', path: '/sessions', admin: false },
  { tab: 'usage', label: 'Usage', path: '/usage', admin: true },
  { tab: 'audit', label: 'Audit log', path: '/audit', admin: true },
  { tab: 'settings', label: 'Settings', path: '/settings', admin: true },
  { tab: 'export', label: 'Export', path: '/export', admin: true },
  { tab: 'integrations', label: 'Integrations', path: '/integrations', admin: true },
  { tab: 'billing', label: 'Billing', path: '/billing', admin: true, billing: true },
];

async function loadFrame(orgId: string): Promise<Omit<OrgContext, 'reload' | 'admin' | 'owner'>> {
  const { user } = await me();
  const [org, deletion] = await Promise.all([
    api<Org>('GET', `/api/orgs/${orgId}`),
    api<Deletion>('GET', `/api/orgs/${orgId}/deletion`),
  ]);
  return { user, org, deletion };
}

/** An organisation page: heading, tabs, deletion banner, then `children(context)`. */
export function OrgFrame(props: {
  orgId: string;
  tab: OrgTab;
  children: (c: OrgContext) => ComponentChildren;
}): JSX.Element {
  const loaded = useLoad(() => loadFrame(props.orgId), [props.orgId]);
  return (
    <Async loaded={loaded} what="Loading the organization…">
      {(d) => {
        const admin = d.org.role === 'owner' || d.org.role === 'admin';
        const c: OrgContext = { ...d, admin, owner: d.org.role === 'owner', reload: loaded.reload };
        return (
          <>
            <p class="muted small">Organization · you are {d.org.role}</p>
            <h1>{d.org.name}</h1>
            <nav class="tabs" aria-label="Organization sections">
              {TABS.filter((t) => (!t.admin || admin) && (!t.billing || billingOn())).map((t) => (
                <a
                  key={t.tab}
                  href={`/orgs/${d.org.id}${t.path}`}
                  aria-current={t.tab === props.tab ? 'page' : undefined}
                >
                  {t.label}
                </a>
              ))}
            </nav>
            {d.deletion.scheduled ? <DeletionBanner c={c} /> : null}
            {props.children(c)}
          </>
        );
      }}
    </Async>
  );
}

function DeletionBanner(props: { c: OrgContext }): JSX.Element {
  const { org, deletion, owner } = props.c;
  const [error, setError] = useState<string | null>(null);
  const cancel = async () => {
    try {
      await api('DELETE', `/api/orgs/${org.id}/deletion`);
      props.c.reload();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <Banner kind="warn" id="deletion-banner">
      <strong>
        This organization will be deleted on <time dateTime={deletion.due_at ?? ''}>{day(deletion.due_at ?? '')}</time>.
      </strong>{' '}
      Until then it is read-only: nothing can be recorded or changed.
      {owner ? (
        <div class="row">
          <button id="cancel-deletion" class="secondary" onClick={() => void cancel()}>
            Cancel the deletion
          </button>
          <span class="muted small">Scheduled deletion at {when(deletion.due_at ?? '')}.</span>
        </div>
      ) : (
        <div class="small">Ask an owner to cancel it if this is a mistake.</div>
      )}
      {error ? <div role="alert">{error}</div> : null}
    </Banner>
  );
}

/**
 * The deletion banner for an organisation page outside the frame (the session page): loads
 * the deletion state and the visitor's role itself; renders nothing unless a deletion is pending.
 */
export function PendingDeletion(props: { orgId: string }): JSX.Element | null {
  const loaded: Loaded<OrgContext | null> = useLoad(async () => {
    const deletion = await api<Deletion>('GET', `/api/orgs/${props.orgId}/deletion`);
    if (!deletion.scheduled) return null;
    const [{ user }, org] = await Promise.all([me(), api<Org>('GET', `/api/orgs/${props.orgId}`)]);
    const c: OrgContext = {
      user,
      org,
      deletion,
      admin: org.role !== 'member',
      owner: org.role === 'owner',
      reload: () => loaded.reload(),
    };
    return c;
  }, [props.orgId]);
  return loaded.data ? <DeletionBanner c={loaded.data} /> : null;
}
