/**
 * Exporting the whole organisation (owners and admins): start one (encrypted to an age
 * recipient or a passphrase), watch it run (sessions and bytes, refreshed without a reload),
 * download it, and see when it expires. The server emails the person who started it when
 * it is ready.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, messageOf } from '../ui/api.ts';
import { Async, Banner, Card, Empty, Field, TableScroll, useLoad, usePoll } from '../ui/components.tsx';
import { ago, bytes, plural, when } from '../ui/format.ts';
import { OrgFrame, type OrgContext } from '../ui/org.tsx';

/** One export as `GET /api/orgs/:id/exports` lists it. */
interface ExportJob {
  id: string;
  status: 'queued' | 'running' | 'done' | 'failed' | 'expired';
  recipient_kind: 'x25519' | 'passphrase';
  sessions_total: number;
  sessions_done: number;
  bytes_written: number;
  size_bytes: number | null;
  error_code: string | null;
  created_at: string;
  finished_at: string | null;
  expires_at: string | null;
  download_url: string | null;
}

/** How often the list is asked again while an export is queued or running. */
const POLL_MS = 1000;

/** The export page. */
export function ExportPage(props: { orgId: string }): JSX.Element {
  return (
    <OrgFrame orgId={props.orgId} tab="export">
      {(c) =>
        c.admin ? <Exports c={c} /> : <Banner kind="info">Only owners and admins can export the organization.</Banner>
      }
    </OrgFrame>
  );
}

function Exports(props: { c: OrgContext }): JSX.Element {
  const orgId = props.c.org.id;
  const loaded = useLoad(
    () => api<{ exports: ExportJob[] }>('GET', `/api/orgs/${orgId}/exports`).then((r) => r.exports),
    [orgId],
  );
  const active = (loaded.data ?? []).some((x) => x.status === 'queued' || x.status === 'running');
  usePoll(loaded.reload, POLL_MS, active);
  return (
    <>
      <StartExport orgId={orgId} active={active} started={loaded.reload} readOnly={props.c.deletion.scheduled} />
      <h2>Exports</h2>
      <Async loaded={loaded} what="Loading the exports…">
        {(exports) =>
          exports.length ? (
            <TableScroll label="Exports">
              <table id="exports">
                <thead>
                  <tr>
                    <th>Started</th>
                    <th>Status</th>
                    <th>Progress</th>
                    <th>Download</th>
                  </tr>
                </thead>
                <tbody>
                  {exports.map((x) => (
                    <ExportRow key={x.id} x={x} />
                  ))}
                </tbody>
              </table>
            </TableScroll>
          ) : (
            <Empty>No exports yet.</Empty>
          )
        }
      </Async>
    </>
  );
}

const STATUS: Record<ExportJob['status'], { label: string; pill: string }> = {
  queued: { label: 'Waiting to start', pill: '' },
  running: { label: 'Running', pill: 'warn' },
  done: { label: 'Ready', pill: 'good' },
  failed: { label: 'Failed', pill: 'bad' },
  expired: { label: 'Expired', pill: '' },
};

function ExportRow(props: { x: ExportJob }): JSX.Element {
  const { x } = props;
  const s = STATUS[x.status];
  const running = x.status === 'running' || x.status === 'queued';
  return (
    <tr data-export={x.id} data-status={x.status}>
      <td>
        <time dateTime={x.created_at}>{when(x.created_at)}</time>
      </td>
      <td>
        <span class={`pill ${s.pill}`}>{s.label}</span>
        {x.error_code ? <div class="small error">{x.error_code.replace(/_/g, ' ')}</div> : null}
      </td>
      <td class="export-progress">
        {running ? (
          <>
            <progress
              max={Math.max(x.sessions_total, 1)}
              value={x.sessions_done}
              aria-label={`Sessions exported: ${x.sessions_done} of ${x.sessions_total}`}
            />
            <div class="small">
              {x.sessions_done} of {x.sessions_total} sessions · {bytes(x.bytes_written)}
            </div>
          </>
        ) : x.status === 'done' ? (
          <span class="small">
            {plural(x.sessions_done, 'session')} · {bytes(x.size_bytes ?? x.bytes_written)}
          </span>
        ) : (
          <span class="small muted">
            {x.sessions_done} of {x.sessions_total} sessions
          </span>
        )}
      </td>
      <td>
        {x.download_url ? (
          <>
            <a class="btn secondary" href={x.download_url} download>
              Download
            </a>
            {x.expires_at ? (
              <div class="small muted">
                expires <time dateTime={x.expires_at}>{ago(x.expires_at)}</time>
              </div>
            ) : null}
          </>
        ) : x.status === 'expired' ? (
          <span class="muted small">no longer available</span>
        ) : running ? (
          <span class="muted small">we email you when it is ready</span>
        ) : null}
      </td>
    </tr>
  );
}

function StartExport(props: { orgId: string; active: boolean; readOnly: boolean; started: () => void }): JSX.Element {
  const [kind, setKind] = useState<'passphrase' | 'recipient'>('passphrase');
  const [recipient, setRecipient] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState<string | null>(null);
  const start = async (e: Event) => {
    e.preventDefault();
    try {
      await api(
        'POST',
        `/api/orgs/${props.orgId}/exports`,
        kind === 'recipient' ? { recipient: recipient.trim() } : { passphrase },
      );
      setPassphrase('');
      setError(null);
      props.started();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <Card title="Export everything" id="export-card">
      <p class="muted">
        One encrypted archive of every session (audio tracks, transcripts, metadata) and the audit log, in the open{' '}
        <a href="https://age-encryption.org">age</a> format. It is kept for a limited time after it is ready.
      </p>
      <form id="export" class="vertical" onSubmit={(e) => void start(e)}>
        <fieldset>
          <legend>Encrypt it with</legend>
          <label class="check">
            <input
              type="radio"
              name="export-kind"
              checked={kind === 'passphrase'}
              onChange={() => setKind('passphrase')}
            />
            A passphrase
          </label>
          <label class="check">
            <input
              type="radio"
              name="export-kind"
              checked={kind === 'recipient'}
              onChange={() => setKind('recipient')}
            />
            An age public key
          </label>
          {kind === 'passphrase' ? (
            <Field
              label="Passphrase"
              hint="12 characters or more. Keep it safe: without it the export cannot be opened."
            >
              <input
                id="export-passphrase"
                type="password"
                autocomplete="new-password"
                minLength={12}
                required
                value={passphrase}
                onInput={(e) => setPassphrase(e.currentTarget.value)}
              />
            </Field>
          ) : (
            <Field label="age public key" hint="As age-keygen prints it: age1 followed by 58 characters.">
              <input
                id="export-recipient"
                required
                spellcheck={false}
                autocomplete="off"
                placeholder="age1…"
                value={recipient}
                onInput={(e) => setRecipient(e.currentTarget.value)}
              />
            </Field>
          )}
        </fieldset>
        <div class="row">
          <button type="submit" disabled={props.active || props.readOnly}>
            Start export
          </button>
          {props.active ? <span class="muted small">An export is running.</span> : null}
        </div>
      </form>
      {error ? <Banner>{error}</Banner> : null}
    </Card>
  );
}
