/**
 * SQL for reading the usage ledger (usage_events: tenant table, owners and admins read it
 * under RLS). Rows are written by triggers (sql/100_dashboard.sql) and by
 * billing/usage.ts recordUsage; nothing here writes.
 */
import { many, one, type Queryable } from '../core/db/pool.ts';

/** One metric's total in one UTC month; `sources` counts distinct reports (tracks, runs). */
export interface MonthlyUsageRow {
  month: string;
  metric: string;
  total: string;
  sources: number;
}

/** Per UTC month and metric, the ledger's sums in [from, to). */
export function monthlyUsage(db: Queryable, orgId: string, from: Date, to: Date): Promise<MonthlyUsageRow[]> {
  return many<MonthlyUsageRow>(
    db,
    `select to_char(date_trunc('month', occurred_at at time zone 'UTC'), 'YYYY-MM') as month, metric,
            sum(quantity)::text as total, count(distinct split_part(source_id, '#', 1))::int as sources
       from usage_events
      where organization_id = $1::uuid and occurred_at >= $2::timestamptz and occurred_at < $3::timestamptz
      group by 1, 2`,
    [orgId, from, to],
  );
}

/** Bytes held before `at`: everything stored minus everything erased. */
export async function storageBefore(db: Queryable, orgId: string, at: Date): Promise<number> {
  const r = await one<{ held: string }>(
    db,
    `select coalesce(sum(case metric when 'bytes_stored' then quantity when 'bytes_erased' then -quantity else 0 end), 0)::text as held
       from usage_events where organization_id = $1::uuid and occurred_at < $2::timestamptz`,
    [orgId, at],
  );
  return Number(r.held);
}

/** A ledger row as the org export writes it (one JSON line each). */
export interface LedgerRow {
  id: string;
  metric: string;
  quantity: string;
  occurred_at: Date;
  session_id: string | null;
  source_id: string | null;
}

/** A page of the org's ledger after id `afterId`, in id order (numeric). */
export function ledgerPage(db: Queryable, orgId: string, afterId: string, limit: number): Promise<LedgerRow[]> {
  return many<LedgerRow>(
    db,
    `select id::text as id, metric, quantity::text as quantity, occurred_at, session_id, source_id
       from usage_events where organization_id = $1::uuid and usage_events.id > $2::bigint
      order by usage_events.id limit $3::int`,
    [orgId, afterId, limit],
  );
}
