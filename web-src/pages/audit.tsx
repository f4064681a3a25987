/** The organisation's audit log (owners and admins). */
import type { JSX } from 'preact';
import { api } from '../ui/api.ts';
import { Async, Empty, useLoad, TableScroll } from '../ui/components.tsx';
import { when } from '../ui/format.ts';
import { me } from '../ui/session.tsx';

interface AuditEntry {
  id: string | number;
  created_at: string;
  action: string;
  actor: { email?: string | null; api_key?: { name: string; prefix: string } | null };
  target: { email?: string | null; user_id?: string | null } | null;
  details: Record<string, unknown>;
}

function details(d: Record<string, unknown>): string {
  return Object.entries(d)
    .filter(([k]) => k !== 'auth_session_id')
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
}

/** A person by address, or an API key by name and public prefix. */
function who(actor: AuditEntry['actor']): string {
  if (actor.email) return actor.email;
  if (actor.api_key) return `API key “${actor.api_key.name}” (rec_${actor.api_key.prefix}…)`;
  return '—';
}

/** The audit log page. */
export function AuditPage(props: { orgId: string }): JSX.Element {
  const loaded = useLoad(async () => {
    await me();
    return api<{ entries: AuditEntry[] }>('GET', `/api/orgs/${props.orgId}/audit`);
  }, [props.orgId]);
  return (
    <>
      <h1>Audit log</h1>
      <p>
        <a href={`/orgs/${props.orgId}`}>← Back to the organization</a>
      </p>
      <Async loaded={loaded} what="Loading the audit log…">
        {({ entries }) =>
          entries.length ? (
            <TableScroll label="Audit log">
              <table id="audit">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Who</th>
                    <th>What</th>
                    <th>Whom</th>
                    <th>Details</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.map((e) => (
                    <tr key={e.id}>
                      <td>{when(e.created_at)}</td>
                      <td>{who(e.actor)}</td>
                      <td>{e.action}</td>
                      <td>{e.target ? e.target.email || e.target.user_id : ''}</td>
                      <td class="muted">{details(e.details)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          ) : (
            <Empty>Nothing has happened yet.</Empty>
          )
        }
      </Async>
    </>
  );
}
