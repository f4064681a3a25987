/**
 * API keys on the org page (owners and admins): create one (shown once, to copy), see every
 * key with its prefix, role, creator and last use, and revoke.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../ui/api.ts';
import { ActionsHeader, Empty, Field, Message, TableScroll, useAct, useLoad } from '../ui/components.tsx';
import { when } from '../ui/format.ts';

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  role: 'admin' | 'member';
  created_by: { user_id: string; email: string | null } | null;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** The API keys section of the org page. */
export function ApiKeysSection(props: { orgId: string }): JSX.Element {
  const base = `/api/orgs/${props.orgId}/api-keys`;
  const loaded = useLoad(() => api<{ api_keys: ApiKey[] }>('GET', base), [props.orgId]);
  const [name, setName] = useState('');
  const [role, setRole] = useState<'admin' | 'member'>('member');
  const [expires, setExpires] = useState('');
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const { status, act } = useAct(loaded.reload);
  const keys = loaded.data?.api_keys ?? [];
  return (
    <section id="api-keys" aria-labelledby="api-keys-h">
      <h2 id="api-keys-h">API keys</h2>
      <p class="muted">
        Scripts use a key as <code>Authorization: Bearer …</code> on this organisation’s API, with the key’s role. See
        the <a href="/docs/api">API reference</a>.
      </p>
      <form
        id="api-key-form"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            // The end of the chosen day, in this browser's time zone.
            const expires_at = expires ? new Date(`${expires}T23:59:59`).toISOString() : undefined;
            const k = await api<{ name: string; key: string }>('POST', base, { name, role, expires_at });
            setCreated({ name: k.name, key: k.key });
            setName('');
            setExpires('');
          });
        }}
      >
        <Field label="Key name">
          <input required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Key role">
          <select value={role} onChange={(e) => setRole(e.currentTarget.value === 'admin' ? 'admin' : 'member')}>
            <option value="member">member</option>
            <option value="admin">admin</option>
          </select>
        </Field>
        <Field label="Expires (optional)">
          <input type="date" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
        </Field>
        <button type="submit">Create key</button>
      </form>
      {created ? (
        <div id="new-key" role="status">
          <p>
            <strong>Copy the key “{created.name}” now:</strong> it is shown only this once.
          </p>
          <Field label="New API key">
            <input readOnly value={created.key} onFocus={(e) => e.currentTarget.select()} />
          </Field>
        </div>
      ) : null}
      {status ? <Message text={status.text} kind={status.kind} /> : null}
      {loaded.error ? <Message text={loaded.error} /> : null}
      {keys.length ? (
        <TableScroll label="API keys">
          <table id="api-key-list">
            <thead>
              <tr>
                <th>Name</th>
                <th>Key begins</th>
                <th>Role</th>
                <th>Created</th>
                <th>Last used</th>
                <th>Expires</th>
                <ActionsHeader />
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id} data-key={k.id}>
                  <td>{k.name}</td>
                  <td>
                    <code>rec_{k.prefix}_…</code>
                  </td>
                  <td>{k.role}</td>
                  <td>
                    {when(k.created_at)}
                    {k.created_by?.email ? ` by ${k.created_by.email}` : ''}
                  </td>
                  <td>{k.last_used_at ? when(k.last_used_at) : 'never'}</td>
                  <td>{k.expires_at ? when(k.expires_at) : 'never'}</td>
                  <td>
                    {k.revoked_at ? (
                      `revoked ${when(k.revoked_at)}`
                    ) : (
                      <button
                        class="danger"
                        aria-label={`Revoke the key ${k.name}`}
                        onClick={() => void act(() => api('DELETE', `${base}/${k.id}`))}
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
      ) : loaded.data ? (
        <Empty id="api-keys-empty">No API keys yet.</Empty>
      ) : null}
    </section>
  );
}
