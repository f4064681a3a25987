/** One organisation: members and roles, invitations, and (for admins) billing and lifecycle. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, messageOf } from '../ui/api.ts';
import { Async, Message, useLoad, TableScroll } from '../ui/components.tsx';
import { when } from '../ui/format.ts';
import { me, type User } from '../ui/session.tsx';
import { BillingSection } from './billing.tsx';
import { LifecycleSection } from './lifecycle.tsx';
import { WebhooksSection } from './webhooks.tsx';
import { ApiKeysSection } from './apiKeys.tsx';

type Role = 'owner' | 'admin' | 'member';

/** `GET /api/orgs/:id`. */
export interface Org {
  id: string;
  name: string;
  role: Role;
  member_count: number;
}

interface Member {
  user_id: string;
  email: string;
  role: Role;
  joined_at: string;
}

interface Invitation {
  id: string;
  email: string;
  role: Role;
  expires_at: string;
}

interface OrgData {
  user: User;
  org: Org;
  members: Member[];
  invitations: Invitation[];
}

async function loadOrg(orgId: string): Promise<OrgData> {
  const { user } = await me();
  const org = await api<Org>('GET', `/api/orgs/${orgId}`);
  const admin = org.role === 'owner' || org.role === 'admin';
  const [{ members }, invitations] = await Promise.all([
    api<{ members: Member[] }>('GET', `/api/orgs/${orgId}/members`),
    admin
      ? api<{ invitations: Invitation[] }>('GET', `/api/orgs/${orgId}/invitations`).then((r) => r.invitations)
      : Promise.resolve([]),
  ]);
  return { user, org, members, invitations };
}

/** The organisation page. */
export function OrgPage(props: { orgId: string }): JSX.Element {
  const loaded = useLoad(() => loadOrg(props.orgId), [props.orgId]);
  return (
    <Async loaded={loaded} what="Loading the organization…">
      {(d) => <OrgView {...d} orgId={props.orgId} reload={loaded.reload} />}
    </Async>
  );
}

function OrgView(props: OrgData & { orgId: string; reload: () => void }): JSX.Element {
  const { org, user, members, invitations, orgId } = props;
  const [error, setError] = useState<string | null>(null);
  const admin = org.role === 'owner' || org.role === 'admin';
  const roles: Role[] = org.role === 'owner' ? ['member', 'admin', 'owner'] : ['member', 'admin'];
  const act = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
      setError(null);
      props.reload();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <>
      <h1>{org.name}</h1>
      <p class="muted">
        You are {org.role}. {org.member_count} member(s).{admin ? ' ' : ''}
        {admin ? <a href={`/orgs/${orgId}/audit`}>Audit log</a> : ''}{' '}
        <a href={`/orgs/${orgId}/sessions`} id="sessions-link">
          Recording sessions
        </a>
      </p>
      <div id="status">{error ? <Message text={error} /> : null}</div>
      <h2>Members</h2>
      <TableScroll label="Members">
        <table id="members">
          <thead>
            <tr>
              <th>Email</th>
              <th>Role</th>
              <th>Joined</th>
              <th>
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <MemberRow key={m.user_id} m={m} me={user} org={org} roles={roles} act={act} />
            ))}
          </tbody>
        </table>
      </TableScroll>
      {admin ? <Invitations orgId={orgId} roles={roles} invitations={invitations} act={act} /> : null}
      {admin ? <ApiKeysSection orgId={orgId} /> : null}
      {admin ? <BillingSection orgId={orgId} /> : null}
      {admin ? <LifecycleSection org={org} /> : null}
      {admin ? <WebhooksSection orgId={orgId} /> : null}
    </>
  );
}

function MemberRow(props: {
  m: Member;
  me: User;
  org: Org;
  roles: Role[];
  act: (fn: () => Promise<unknown>) => Promise<void>;
}): JSX.Element {
  const { m, org, act } = props;
  const self = m.user_id === props.me.id;
  const admin = org.role === 'owner' || org.role === 'admin';
  const canManage = admin && !self && (org.role === 'owner' || m.role !== 'owner');
  const base = `/api/orgs/${org.id}/members/${m.user_id}`;
  return (
    <tr data-user={m.user_id}>
      <td>
        {m.email}
        {self ? ' (you)' : ''}
      </td>
      <td>
        {canManage ? (
          <select
            aria-label={`Role of ${m.email}`}
            value={m.role}
            onChange={(e) => void act(() => api('PATCH', base, { role: e.currentTarget.value }))}
          >
            {props.roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        ) : (
          m.role
        )}
      </td>
      <td>{when(m.joined_at)}</td>
      <td>
        {self ? (
          <button
            class="danger"
            onClick={() =>
              void act(async () => {
                await api('DELETE', base);
                location.href = '/orgs';
              })
            }
          >
            Leave
          </button>
        ) : canManage ? (
          <button class="danger" aria-label={`Remove ${m.email}`} onClick={() => void act(() => api('DELETE', base))}>
            Remove
          </button>
        ) : null}
      </td>
    </tr>
  );
}

function Invitations(props: {
  orgId: string;
  roles: Role[];
  invitations: Invitation[];
  act: (fn: () => Promise<unknown>) => Promise<void>;
}): JSX.Element {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<string>(props.roles[0] ?? 'member');
  const { orgId, act } = props;
  return (
    <>
      <h2>Invite someone</h2>
      <form
        id="invite"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            await api('POST', `/api/orgs/${orgId}/invitations`, { email, role });
            setEmail('');
          });
        }}
      >
        <input
          type="email"
          id="invite-email"
          required
          placeholder="colleague@example.com"
          aria-label="Email address to invite"
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
        />
        <select id="invite-role" aria-label="Role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
          {props.roles.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
        <button type="submit">Send invitation</button>
      </form>
      <h2>Pending invitations</h2>
      {props.invitations.length ? (
        <TableScroll label="Pending invitations">
          <table id="invitations">
            <tbody>
              {props.invitations.map((i) => (
                <tr key={i.id}>
                  <td>{i.email}</td>
                  <td>{i.role}</td>
                  <td>expires {when(i.expires_at)}</td>
                  <td>
                    <button
                      class="secondary"
                      aria-label={`Revoke the invitation of ${i.email}`}
                      onClick={() => void act(() => api('DELETE', `/api/orgs/${orgId}/invitations/${i.id}`))}
                    >
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      ) : (
        <p class="muted">None.</p>
      )}
    </>
  );
}
