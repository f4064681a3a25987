/** The organisations the user belongs to, and creating one. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, messageOf } from '../ui/api.ts';
import { Async, Empty, Message, useLoad } from '../ui/components.tsx';
import { me } from '../ui/session.tsx';

/** The organisations page. */
export function OrgsPage(): JSX.Element {
  const loaded = useLoad(me);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      const org = await api<{ id: string }>('POST', '/api/orgs', { name });
      location.href = `/orgs/${org.id}`;
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <>
      <h1>Your organizations</h1>
      <Async loaded={loaded} what="Loading your organizations…">
        {({ memberships }) =>
          memberships.length ? (
            <ul class="plain" id="org-list">
              {memberships.map((m) => (
                <li key={m.id}>
                  <a href={`/orgs/${m.id}`}>{m.name}</a> <span class="muted">({m.role})</span>
                </li>
              ))}
            </ul>
          ) : (
            <Empty>You are not in any organization yet.</Empty>
          )
        }
      </Async>
      <h2>Create an organization</h2>
      <form id="create-org" onSubmit={(e) => void create(e)}>
        <input
          name="name"
          id="org-name"
          required
          maxLength={100}
          placeholder="Organization name"
          aria-label="Organization name"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <button type="submit">Create</button>
      </form>
      {error ? <Message text={error} /> : null}
    </>
  );
}
