/** The organisations the user belongs to, and creating one. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, messageOf } from '../ui/api.ts';
import { Async, Banner, Card, Empty, Field, PageHeader, useLoad } from '../ui/components.tsx';
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
      <PageHeader title="Your organizations" />
      <Async loaded={loaded} what="Loading your organizations…">
        {({ memberships }) =>
          memberships.length ? (
            <ul class="plain" id="org-list">
              {memberships.map((m) => (
                <li key={m.id}>
                  <a href={`/orgs/${m.id}`}>{m.name}</a> <span class="pill">{m.role}</span>
                </li>
              ))}
            </ul>
          ) : (
            <Empty>You are not in any organization yet.</Empty>
          )
        }
      </Async>
      <Card title="Create an organization" id="create-org-card">
        <p class="muted">You become its owner, and can invite others as owners, admins or members.</p>
        <form id="create-org" onSubmit={(e) => void create(e)}>
          <Field label="Organization name">
            <input
              name="name"
              id="org-name"
              required
              maxLength={100}
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </Field>
          <button type="submit">Create</button>
        </form>
        {error ? <Banner>{error}</Banner> : null}
      </Card>
    </>
  );
}
