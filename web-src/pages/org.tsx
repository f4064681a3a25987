/**
 * An organisation's members: roles, pending invitations (resend, revoke, expiry) and, with
 * billing on, seats used against seats paid. Members see the list; owners and admins manage it.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../ui/api.ts';
import {
  ActionsHeader,
  Async,
  Banner,
  Card,
  Empty,
  Field,
  StatusBanner,
  TableScroll,
  useAct,
  useLoad,
} from '../ui/components.tsx';
import { ago, day, plural } from '../ui/format.ts';
import { billingOn, OrgFrame, type OrgContext, type Role } from '../ui/org.tsx';

interface Member {
  user_id: string;
  email: string;
  display_name?: string | null;
  role: Role;
  joined_at: string;
}

interface Invitation {
  id: string;
  email: string;
  role: Role;
  expires_at: string;
  expired?: boolean;
}

interface Seats {
  used: number;
  paid: number | null;
}

interface MembersData {
  members: Member[];
  invitations: Invitation[];
  seats: Seats | null;
}

async function loadMembers(c: OrgContext): Promise<MembersData> {
  const orgId = c.org.id;
  const [{ members, seats }, invitations] = await Promise.all([
    api<{ members: Member[]; seats?: Seats }>('GET', `/api/orgs/${orgId}/members`),
    c.admin
      ? api<{ invitations: Invitation[] }>('GET', `/api/orgs/${orgId}/invitations?include_expired=true`).then(
          (r) => r.invitations,
        )
      : Promise.resolve([]),
  ]);
  // Seats mean something only where billing is on (paid is null without a subscription).
  return { members, invitations, seats: billingOn() && seats ? seats : null };
}

/** The organisation page (its Members tab). */
export function OrgPage(props: { orgId: string }): JSX.Element {
  return (
    <OrgFrame orgId={props.orgId} tab="members">
      {(c) => <Members c={c} />}
    </OrgFrame>
  );
}

function Members(props: { c: OrgContext }): JSX.Element {
  const { c } = props;
  const loaded = useLoad(() => loadMembers(c), [c.org.id]);
  const { status, act } = useAct(loaded.reload);
  const roles: Role[] = c.owner ? ['member', 'admin', 'owner'] : ['member', 'admin'];
  return (
    <Async loaded={loaded} what="Loading the members…">
      {(d) => (
        <>
          <p class="muted" id="member-summary">
            {plural(d.members.length, 'member')}
            {d.seats ? ` · ${d.seats.used} of ${d.seats.paid ?? 'unlimited'} paid seats used` : ''}
          </p>
          {d.seats && d.seats.paid !== null && d.seats.used > d.seats.paid ? (
            <Banner kind="warn">
              More members than paid seats. <a href={`/orgs/${c.org.id}/billing`}>Add seats</a>
            </Banner>
          ) : null}
          <div id="status">
            <StatusBanner status={status} />
          </div>
          <h2>Members</h2>
          <TableScroll label="Members">
            <table id="members">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Role</th>
                  <th>Joined</th>
                  <ActionsHeader />
                </tr>
              </thead>
              <tbody>
                {d.members.map((m) => (
                  <MemberRow key={m.user_id} m={m} c={c} roles={roles} act={act} />
                ))}
              </tbody>
            </table>
          </TableScroll>
          {/* While a deletion is pending the organization is read-only: nothing to invite or change. */}
          {c.admin && !c.deletion.scheduled ? <Invite c={c} roles={roles} act={act} /> : null}
          {c.admin ? <Invitations c={c} invitations={d.invitations} act={act} /> : null}
        </>
      )}
    </Async>
  );
}

type Act = (fn: () => Promise<unknown>, done?: string) => Promise<void>;

function MemberRow(props: { m: Member; c: OrgContext; roles: Role[]; act: Act }): JSX.Element {
  const { m, c, act } = props;
  const self = m.user_id === c.user.id;
  const canManage = c.admin && !c.deletion.scheduled && !self && (c.owner || m.role !== 'owner');
  const base = `/api/orgs/${c.org.id}/members/${m.user_id}`;
  const name = m.display_name || m.email;
  return (
    <tr data-user={m.user_id}>
      <td>
        {m.display_name ? (
          <>
            <strong>{m.display_name}</strong>
            <br />
            <span class="muted small">{m.email}</span>
          </>
        ) : (
          m.email
        )}
        {self ? ' (you)' : ''}
      </td>
      <td>
        {canManage ? (
          <select
            aria-label={`Role of ${name}`}
            value={m.role}
            onChange={(e) =>
              void act(
                () => api('PATCH', base, { role: e.currentTarget.value }),
                `${name} is now ${e.currentTarget.value}.`,
              )
            }
          >
            {props.roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        ) : (
          <span class="pill">{m.role}</span>
        )}
      </td>
      <td>
        <time dateTime={m.joined_at}>{day(m.joined_at)}</time>
      </td>
      <td>
        {self && !c.deletion.scheduled ? (
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
          <button
            class="danger"
            aria-label={`Remove ${name}`}
            onClick={() => void act(() => api('DELETE', base), `${name} was removed.`)}
          >
            Remove
          </button>
        ) : null}
      </td>
    </tr>
  );
}

function Invite(props: { c: OrgContext; roles: Role[]; act: Act }): JSX.Element {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<string>(props.roles[0] ?? 'member');
  const orgId = props.c.org.id;
  return (
    <Card title="Invite someone" id="invite-card">
      <form
        id="invite"
        onSubmit={(e) => {
          e.preventDefault();
          const to = email;
          void props.act(async () => {
            await api('POST', `/api/orgs/${orgId}/invitations`, { email: to, role });
            setEmail('');
          }, `Invitation sent to ${to}.`);
        }}
      >
        <Field label="Email address">
          <input
            type="email"
            id="invite-email"
            required
            autocomplete="off"
            placeholder="colleague@example.com"
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </Field>
        <Field label="Role">
          <select id="invite-role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            {props.roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </Field>
        <button type="submit">Send invitation</button>
      </form>
    </Card>
  );
}

function Invitations(props: { c: OrgContext; invitations: Invitation[]; act: Act }): JSX.Element {
  const { act } = props;
  const orgId = props.c.org.id;
  return (
    <>
      <h2>Invitations</h2>
      {props.invitations.length ? (
        <TableScroll label="Invitations">
          <table id="invitations">
            <thead>
              <tr>
                <th>Email</th>
                <th>Role</th>
                <th>Expires</th>
                <ActionsHeader />
              </tr>
            </thead>
            <tbody>
              {props.invitations.map((i) => (
                <tr key={i.id}>
                  <td>{i.email}</td>
                  <td>
                    <span class="pill">{i.role}</span>
                  </td>
                  <td>
                    {i.expired ? (
                      <span class="pill bad">expired {ago(i.expires_at)}</span>
                    ) : (
                      <time dateTime={i.expires_at}>{ago(i.expires_at)}</time>
                    )}
                  </td>
                  <td>
                    <div class="row" hidden={props.c.deletion.scheduled}>
                      <button
                        class="secondary"
                        aria-label={`Resend the invitation to ${i.email}`}
                        onClick={() =>
                          void act(
                            () => api('POST', `/api/orgs/${orgId}/invitations/${i.id}/resend`),
                            `Invitation sent again to ${i.email}.`,
                          )
                        }
                      >
                        Resend
                      </button>
                      <button
                        class="danger"
                        aria-label={`Revoke the invitation of ${i.email}`}
                        onClick={() =>
                          void act(
                            () => api('DELETE', `/api/orgs/${orgId}/invitations/${i.id}`),
                            `Invitation of ${i.email} revoked.`,
                          )
                        }
                      >
                        Revoke
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      ) : (
        <Empty>No pending invitations.</Empty>
      )}
    </>
  );
}
