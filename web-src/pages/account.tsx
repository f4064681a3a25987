/**
 * The signed-in user's account: display name, the active sign-in sessions in words
 * ("Chrome on macOS, Berlin time zone, last seen 5 min ago"), signing out everywhere else,
 * and deleting the account with what it means spelled out.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, messageOf } from '../ui/api.ts';
import { Async, Banner, Card, Field, PageHeader, StatusBanner, useAct, useLoad } from '../ui/components.tsx';
import { ago, describeAgent, zoneName } from '../ui/format.ts';
import { me, showNav, type User } from '../ui/session.tsx';

interface AuthSession {
  id: string;
  device?: string | null;
  user_agent: string | null;
  time_zone?: string | null;
  created_at?: string;
  last_seen_at: string;
  current: boolean;
}

/** The account page. */
export function AccountPage(): JSX.Element {
  const loaded = useLoad(async () => {
    const { user, memberships } = await me();
    const { sessions } = await api<{ sessions: AuthSession[] }>('GET', '/api/auth/sessions');
    return { user, sessions, orgCount: memberships.length };
  });
  return (
    <>
      <PageHeader title="Your account" />
      <Async loaded={loaded} what="Loading your account…">
        {({ user, sessions, orgCount }) => (
          <>
            <Profile user={user} />
            <Sessions sessions={sessions} reload={loaded.reload} />
            <DeleteAccount user={user} orgCount={orgCount} />
          </>
        )}
      </Async>
    </>
  );
}

function Profile(props: { user: User }): JSX.Element {
  const [name, setName] = useState(props.user.display_name ?? '');
  const { status, act } = useAct();
  const save = async (e: Event) => {
    e.preventDefault();
    await act(async () => {
      const r = await api<{ user: User }>('PATCH', '/api/me', { display_name: name.trim() });
      showNav(r.user);
    }, 'Name saved.');
  };
  return (
    <Card title="Profile" id="profile">
      <p>
        Signed in as <strong>{props.user.email}</strong>.
      </p>
      <form id="display-name-form" onSubmit={(e) => void save(e)}>
        <Field label="Display name" hint="Shown to the other members of your organizations and in recording sessions.">
          <input
            id="display-name"
            required
            maxLength={80}
            autocomplete="name"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </Field>
        <button type="submit">Save name</button>
      </form>
      <StatusBanner status={status} />
    </Card>
  );
}

/** "Chrome on macOS, Berlin time zone, last seen 5 min ago". */
export function describeSession(s: AuthSession, now: number = Date.now()): string {
  return [s.device || describeAgent(s.user_agent), zoneName(s.time_zone), `last seen ${ago(s.last_seen_at, now)}`]
    .filter(Boolean)
    .join(', ');
}

function Sessions(props: { sessions: AuthSession[]; reload: () => void }): JSX.Element {
  const { status, act } = useAct(props.reload);
  const others = props.sessions.filter((s) => !s.current).length;
  return (
    <Card title="Where you are signed in" id="sign-ins">
      <ul class="plain" id="sessions">
        {props.sessions.map((s) => (
          <li key={s.id} class="row" data-current={s.current ? 'true' : undefined}>
            <span>
              {describeSession(s)}
              {s.current ? <strong> (this browser)</strong> : null}
            </span>
            <span class="spacer" />
            {s.current ? null : (
              <button
                class="secondary"
                aria-label={`Sign out ${s.device || describeAgent(s.user_agent)}`}
                onClick={() => void act(() => api('DELETE', `/api/auth/sessions/${s.id}`), 'Signed out there.')}
              >
                Sign out
              </button>
            )}
          </li>
        ))}
      </ul>
      <p class="row">
        <button
          id="signout-others"
          class="secondary"
          disabled={others === 0}
          onClick={() => void act(() => api('POST', '/api/auth/sessions/revoke-others'), 'Signed out everywhere else.')}
        >
          Sign out everywhere else
        </button>
        {others === 0 ? <span class="muted small">This is your only sign-in.</span> : null}
      </p>
      <StatusBanner status={status} />
    </Card>
  );
}

// Account deletion (docs/data-lifecycle.md): typed confirmation; restorable for 30 days.
function DeleteAccount(props: { user: User; orgCount: number }): JSX.Element {
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <Card title="Delete your account" id="delete-account" class="danger-zone">
      <ul>
        <li>You are signed out everywhere at once, and an email tells you how to undo it.</li>
        <li>
          For 30 days you can restore the account by signing in again. After that it is erased for good: your name,
          sign-ins and your place in{' '}
          {props.orgCount === 1 ? 'your organization' : `your ${props.orgCount} organizations`}. Audit logs keep their
          entries, without your email address.
        </li>
        <li>Recordings you made stay with their organization.</li>
        <li>
          If you are the only owner of an organization, make someone else owner first (or delete the organization).
        </li>
      </ul>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          api('DELETE', '/api/me', { confirm_email: confirm }).then(
            () => (location.href = '/signin'),
            (err: unknown) => setError(messageOf(err)),
          );
        }}
      >
        <Field label={`Type your email address (${props.user.email}) to confirm`}>
          <input
            type="email"
            id="delete-account-email"
            autocomplete="off"
            value={confirm}
            onInput={(e) => setConfirm(e.currentTarget.value)}
          />
        </Field>
        <button
          type="submit"
          class="danger solid"
          disabled={confirm.trim().toLowerCase() !== props.user.email.toLowerCase()}
        >
          Delete my account
        </button>
      </form>
      {error ? <Banner>{error}</Banner> : null}
    </Card>
  );
}
