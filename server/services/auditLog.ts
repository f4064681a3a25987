/**
 * The audit log as the dashboard shows it: entries with their actor and target named (a
 * deleted account shown as such), filtered by action, actor and time, keyset-paged on the
 * numeric id, and downloaded (CSV or JSON lines) exactly as the filter selects. Owners and
 * admins only; RLS decides which org's rows exist.
 */
import { AsyncResource } from 'node:async_hooks';
import { Readable } from 'node:stream';
import type { Deps } from '../core/context.ts';
import { log, errorFields } from '../core/logger.ts';
import { withTenant } from '../core/db/pool.ts';
import type { SignedInUser } from '../context.ts';
import { requireAdmin, tenantScope } from '../policies.ts';
import type { Role } from '../repositories/orgs.ts';
import * as audit from '../repositories/audit.ts';

/** Who acted: null for the system (sweeps, webhooks). */
export interface AuditActor {
  id: string | null;
  email: string | null;
  name: string | null;
  deleted: boolean;
  /** Set when an organisation API key acted (id, email null): its name and public prefix. */
  api_key?: { id: string | null; name: string; prefix: string };
}

/** What was acted on, when the entry names something. */
export interface AuditTarget {
  type: 'user' | 'session' | 'invitation' | 'export' | 'organization';
  id: string | null;
  label: string | null;
}

export interface AuditEventView {
  id: string;
  at: string;
  action: string;
  actor: AuditActor | null;
  target: AuditTarget | null;
  detail: Record<string, unknown>;
}

/** The filter as the route parsed it; `actor` is a user id or an email address. */
export interface AuditQuery {
  action?: string | undefined;
  actor?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function filterOf(q: AuditQuery): audit.AuditFilter {
  const byId = q.actor !== undefined && UUID.test(q.actor);
  return {
    action: q.action ?? null,
    actorUserId: byId ? (q.actor ?? null) : null,
    actorEmail: !byId ? (q.actor ?? null) : null,
    from: q.from ?? null,
    to: q.to ?? null,
  };
}

function actorOf(r: audit.AuditEventRow): AuditActor | null {
  // What a key did names the key (sql/110_api_keys.sql keeps its name and prefix in details).
  const key = r.details.api_key;
  if (key && typeof key === 'object' && !Array.isArray(key)) {
    const k = key as Record<string, unknown>;
    const name = str(k.name) ?? '';
    const prefix = str(k.prefix) ?? '';
    return {
      id: null,
      email: null,
      name: `API key “${name}” (rec_${prefix}…)`,
      deleted: false,
      api_key: { id: str(k.id), name, prefix },
    };
  }
  const deleted = r.actor_deleted_at !== null || (r.actor_user_id === null && r.actor_email !== null);
  if (r.actor_user_id === null && r.actor_email === null && !deleted) return null;
  return {
    id: r.actor_user_id,
    email: r.actor_current_email ?? r.actor_email,
    name: deleted ? null : r.actor_name,
    deleted,
  };
}

function targetOf(r: audit.AuditEventRow): AuditTarget | null {
  const d = r.details;
  if (r.target_user_id !== null || r.target_email !== null || r.target_deleted_at !== null) {
    const deleted = r.target_deleted_at !== null;
    const label = r.target_name ?? r.target_current_email ?? r.target_email ?? (deleted ? 'deleted account' : null);
    if (str(d.invitation_id) !== null && r.target_user_id === null)
      return { type: 'invitation', id: str(d.invitation_id), label };
    return { type: 'user', id: r.target_user_id, label };
  }
  if (str(d.session_id) !== null) return { type: 'session', id: str(d.session_id), label: r.session_title };
  if (str(d.invitation_id) !== null) return { type: 'invitation', id: str(d.invitation_id), label: null };
  if (str(d.export_id) !== null) return { type: 'export', id: str(d.export_id), label: null };
  if (r.action.startsWith('org.')) return { type: 'organization', id: null, label: str(d.name) };
  return null;
}

/** One entry as the API and the download show it. */
export function presentEvent(r: audit.AuditEventRow): AuditEventView {
  return {
    id: r.id,
    at: r.created_at.toISOString(),
    action: r.action,
    actor: actorOf(r),
    target: targetOf(r),
    detail: r.details,
  };
}

/**
 * A page of matching entries and the cursor of the next (null after the last).
 * @throws AppError 403 `admin_required`.
 */
export async function listEvents(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  q: AuditQuery & { order: 'asc' | 'desc'; after?: string | undefined; limit: number },
): Promise<{ events: AuditEventView[]; next_cursor: string | null }> {
  requireAdmin(role, 'Only owners and admins can read the audit log.');
  // One more than asked: the next page exists only if it comes back.
  const rows = await withTenant(deps.db.app, tenantScope(orgId, user), (tx) =>
    audit.auditEvents(tx, orgId, filterOf(q), q.order, q.after ?? null, q.limit + 1),
  );
  const page = rows.slice(0, q.limit);
  return {
    events: page.map(presentEvent),
    next_cursor: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null,
  };
}

/** What the filter menus offer: every action and actor in the org's log. @throws 403 `admin_required`. */
export async function facets(deps: Deps, user: SignedInUser, orgId: string, role: Role) {
  requireAdmin(role, 'Only owners and admins can read the audit log.');
  return withTenant(deps.db.app, tenantScope(orgId, user), async (tx) => ({
    actions: (await audit.auditActions(tx, orgId)).map((a) => a.action),
    actors: (await audit.auditActors(tx, orgId)).map((a) => ({
      id: a.actor_user_id,
      email: a.actor_email,
      name: a.deleted ? null : a.name,
      deleted: a.deleted || (a.actor_user_id === null && a.actor_email !== null),
    })),
  }));
}

const DOWNLOAD_PAGE = 1000;
export const CSV_COLUMNS = [
  'id',
  'at',
  'action',
  'actor_id',
  'actor_email',
  'actor_name',
  'actor_deleted',
  'target_type',
  'target_id',
  'target_label',
  'detail',
] as const;

/**
 * A CSV cell (RFC 4180): quoted when it holds a comma, quote or line break; a leading
 * = + - @ (or tab, CR) is prefixed with ' so a spreadsheet shows it as text, not a formula.
 */
export function csvCell(v: string | number | boolean | null): string {
  if (v === null) return '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function csvRow(e: AuditEventView): string {
  return [
    e.id,
    e.at,
    e.action,
    e.actor?.id ?? null,
    e.actor?.email ?? null,
    e.actor?.name ?? null,
    e.actor ? e.actor.deleted : null,
    e.target?.type ?? null,
    e.target?.id ?? null,
    e.target?.label ?? null,
    JSON.stringify(e.detail),
  ]
    .map(csvCell)
    .join(',');
}

/**
 * Every entry the filter selects, oldest first, as one CSV or JSON-lines file, streamed:
 * each page of rows is read as the response needs it (in a transaction of its own, proven
 * again, once the headers are sent), so memory stays flat however long the log. The file
 * is a snapshot: it ends at the newest entry when the download started, and the download
 * is audited then (`audit.downloaded`, with that bound), so it is not in its own file.
 * @throws AppError 403 `admin_required`.
 */
export async function download(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  format: 'csv' | 'jsonl',
  q: AuditQuery,
): Promise<{ contentType: string; filename: string; body: Readable }> {
  requireAdmin(role, 'Only owners and admins can read the audit log.');
  const scope = tenantScope(orgId, user);
  const upToId = await withTenant(deps.db.app, scope, async (tx) => {
    const max = await audit.maxAuditId(tx, orgId);
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'audit.downloaded',
      details: {
        format,
        up_to_id: max,
        filter: {
          action: q.action ?? null,
          actor: q.actor ?? null,
          from: q.from?.toISOString() ?? null,
          to: q.to?.toISOString() ?? null,
        },
      },
    });
    return max;
  });
  const filter = { ...filterOf(q), upToId };
  // Bound to this request's context, so a page read after the response started is still
  // read as the proven user (the request's own transaction has ended by then).
  const page = AsyncResource.bind((after: string | null) =>
    withTenant(deps.db.app, scope, (tx) => audit.auditEvents(tx, orgId, filter, 'asc', after, DOWNLOAD_PAGE)),
  );
  const eol = format === 'csv' ? '\r\n' : '\n';
  async function* lines(): AsyncGenerator<Buffer> {
    if (format === 'csv') yield Buffer.from(CSV_COLUMNS.join(',') + eol, 'utf8');
    let after: string | null = null;
    for (;;) {
      const rows = await page(after);
      if (rows.length > 0) {
        const text = rows.map((r) => (format === 'csv' ? csvRow(presentEvent(r)) : JSON.stringify(presentEvent(r))));
        yield Buffer.from(text.join(eol) + eol, 'utf8');
      }
      if (rows.length < DOWNLOAD_PAGE) return;
      after = rows.at(-1)?.id ?? null;
    }
  }
  const body = Readable.from(lines());
  // Headers are gone by the time a later page fails: the download ends short, and we log it.
  body.on('error', (err) => log.error('audit download stream failed', errorFields(err)));
  const date = deps.clock.now().toISOString().slice(0, 10);
  return {
    contentType: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    filename: `audit-${orgId.slice(0, 8)}-${date}.${format}`,
    body,
  };
}
