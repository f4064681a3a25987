/**
 * Usage per organisation and month, from the usage ledger only (usage_events): hours
 * recorded, tracks, transcription minutes, storage held. Shown with billing on or off;
 * with billing on, beside the plan's limits (which read the same ledger).
 */
import type { Deps } from '../core/context.ts';
import { withTenant } from '../core/db/pool.ts';
import type { SignedInUser } from '../context.ts';
import { requireAdmin, tenantScope } from '../policies.ts';
import type { Role } from '../repositories/orgs.ts';
import * as repo from '../repositories/usage.ts';
import { getBilling } from '../billing/service.ts';
import type { Billing } from '../billing/stripe.ts';

export interface MonthUsage {
  month: string;
  recorded_seconds: number;
  recorded_hours: number;
  tracks: number;
  transcribed_seconds: number;
  transcription_minutes: number;
  bytes_stored: number;
  bytes_erased: number;
  /** Held at the end of the month (now, for the current one). */
  storage_bytes: number;
}

export interface UsageLimits {
  plan: { id: string; name: string } | null;
  period_start: string;
  period_end: string;
  recording_hours: { used: number; limit: number | null };
  seats: { used: number; paid: number | null };
}

export interface UsageView {
  billing_enabled: boolean;
  months: MonthUsage[];
  limits: UsageLimits | null;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const monthKey = (d: Date) => d.toISOString().slice(0, 7);

/**
 * The last `months` UTC months, newest first, every month present (zeros included).
 * @throws AppError 403 `admin_required`.
 */
export async function getUsage(
  deps: Deps,
  billing: Billing | undefined,
  user: SignedInUser,
  orgId: string,
  role: Role,
  months: number,
): Promise<UsageView> {
  requireAdmin(role, 'Only owners and admins can see usage.');
  const now = deps.clock.now();
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (months - 1), 1));
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  const { rows, heldBefore } = await withTenant(deps.db.app, tenantScope(orgId, user), async (tx) => ({
    rows: await repo.monthlyUsage(tx, orgId, from, to),
    heldBefore: await repo.storageBefore(tx, orgId, from),
  }));
  const sum = (month: string, metric: string) =>
    Number(rows.find((r) => r.month === month && r.metric === metric)?.total ?? 0);
  const oldestFirst: MonthUsage[] = [];
  let held = heldBefore;
  for (let i = 0; i < months; i++) {
    const month = monthKey(new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + i, 1)));
    const recorded = sum(month, 'recording_seconds');
    const transcribed = sum(month, 'transcribed_seconds');
    const stored = sum(month, 'bytes_stored');
    const erased = sum(month, 'bytes_erased');
    held += stored - erased;
    oldestFirst.push({
      month,
      recorded_seconds: recorded,
      recorded_hours: round2(recorded / 3600),
      tracks: rows.find((r) => r.month === month && r.metric === 'recording_seconds')?.sources ?? 0,
      transcribed_seconds: transcribed,
      transcription_minutes: round2(transcribed / 60),
      bytes_stored: stored,
      bytes_erased: erased,
      storage_bytes: held,
    });
  }
  let limits: UsageLimits | null = null;
  if (billing) {
    const b = await getBilling(deps, billing, user, orgId, role);
    limits = {
      plan: b.plan,
      period_start: b.usage.period_start,
      period_end: b.usage.period_end,
      recording_hours: b.usage.recording_hours,
      seats: b.seats,
    };
  }
  return { billing_enabled: billing !== undefined, months: oldestFirst.reverse(), limits };
}
