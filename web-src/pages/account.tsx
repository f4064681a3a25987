/** The signed-in user's account: active sign-in sessions and deleting the account. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, messageOf } from '../ui/api.ts';
import { Async, Message, useLoad, TableScroll } from '../ui/components.tsx';
import { when } from '../ui/format.ts';
import { me, type User } from '../ui/session.tsx';

interface AuthSession {
  id: string;
  user_agent: string | null;
  client_ip: string | null;
  last_seen_at: string;
  current: boolean;
}

/** The account page. */
export function AccountPage(): JSX.Element {
  const loaded = useLoad(async () => {
    const { user } = await me();
    const { sessions } = await api<{ sessions: AuthSession[] }>('GET', '/api/auth/sessions');
    return { user, sessions };
  });
  return (
    <>
      <h1>Your account</h1>
      <Async loaded={loaded} what="Loading your account…">
        {({ user, sessions }) => (
          <>
            <p>Signed in as {user.email}.</p>
            <h2>Active sessions</h2>
            <TableScroll label="Active sessions">
              <table id="sessions">
                <tbody>
                  {sessions.map((s) => (
                    <tr key={s.id}>
                      <td>
                        {s.user_agent || 'Unknown browser'}
                        {s.current ? ' (this one)' : ''}
                      </td>
                      <td>{s.client_ip || ''}</td>
                      <td>last seen {when(s.last_seen_at)}</td>
                      <td>
                        {s.current ? null : (
                          <button
                            class="danger"
                            onClick={() =>
                              void api('DELETE', `/api/auth/sessions/${s.id}`).then(() => location.reload())
                            }
                          >
                            Revoke
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
            <DeleteAccount user={user} />
          </>
        )}
      </Async>
    </>
  );
}

// Account deletion (docs/data-lifecycle.md): typed confirmation; restorable for 30 days.
function DeleteAccount(props: { user: User }): JSX.Element {
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <section id="delete-account">
      <h2>Delete your account</h2>
      <p class="muted">
        You are signed out everywhere at once. Sign in again within 30 days to restore the account; after that it is
        gone.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          api('DELETE', '/api/me', { confirm_email: confirm }).then(
            () => (location.href = '/signin'),
            (err: unknown) => setError(messageOf(err)),
          );
        }}
      >
        <input
          type="email"
          id="delete-account-email"
          placeholder={props.user.email}
          aria-label="Type your email address to confirm"
          value={confirm}
          onInput={(e) => setConfirm(e.currentTarget.value)}
        />
        <button type="submit" class="danger">
          Delete my account
        </button>
      </form>
      {error ? <Message text={error} /> : null}
    </section>
  );
}
