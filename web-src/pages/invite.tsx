/** Accepting an invitation from the emailed link (`/invite#token=…`). */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, messageOf } from '../ui/api.ts';
import { Async, Message, useLoad } from '../ui/components.tsx';
import { me } from '../ui/session.tsx';

/** The invitation page. */
export function InvitePage(): JSX.Element {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  const loaded = useLoad(() => (token ? me() : Promise.reject(new Error('This link has no invitation token.'))));
  const [error, setError] = useState<string | null>(null);
  const accept = async () => {
    try {
      const r = await api<{ organization_id: string }>('POST', '/api/invitations/accept', { token });
      location.href = `/orgs/${r.organization_id}`;
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <>
      <h1>Invitation</h1>
      <Async loaded={loaded}>
        {({ user }) => (
          <>
            <p>Accept as {user.email}?</p>
            <button id="accept" onClick={() => void accept()}>
              Accept invitation
            </button>
          </>
        )}
      </Async>
      {error ? <Message text={error} /> : null}
    </>
  );
}
