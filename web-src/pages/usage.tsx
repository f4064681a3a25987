/**
 * An organisation's usage (owners and admins), from the usage ledger: hours recorded,
 * tracks, transcription minutes and storage held, this month and the months before; with
 * billing on, beside the plan's limits.
 */
import type { JSX } from 'preact';
import { api } from '../ui/api.ts';
import { Async, Banner, Stat, TableScroll, useLoad } from '../ui/components.tsx';
import { bytes, day, num } from '../ui/format.ts';
import { OrgFrame, type OrgContext } from '../ui/org.tsx';

interface Month {
  month: string;
  recorded_hours: number;
  tracks: number;
  transcription_minutes: number;
  storage_bytes: number;
}

interface Usage {
  billing_enabled: boolean;
  months: Month[];
  limits: {
    plan: { id: string; name: string } | null;
    period_start: string | null;
    period_end: string | null;
    recording_hours: { used: number; limit: number | null };
    seats: { used: number; paid: number | null };
  } | null;
}

/** "2026-11" → "November 2026". */
function monthName(m: string): string {
  const [y, mo] = m.split('-').map(Number);
  return new Date(Date.UTC(y ?? 1970, (mo ?? 1) - 1, 1)).toLocaleDateString(undefined, {
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  });
}

/** The usage page. */
export function UsagePage(props: { orgId: string }): JSX.Element {
  return (
    <OrgFrame orgId={props.orgId} tab="usage">
      {(c) => (c.admin ? <UsageView c={c} /> : <Banner kind="info">Only owners and admins can see usage.</Banner>)}
    </OrgFrame>
  );
}

function UsageView(props: { c: OrgContext }): JSX.Element {
  const orgId = props.c.org.id;
  const loaded = useLoad(() => api<Usage>('GET', `/api/orgs/${orgId}/usage?months=6`), [orgId]);
  return (
    <Async loaded={loaded} what="Loading the usage…">
      {(u) => {
        const [current, ...previous] = u.months;
        const l = u.limits;
        return (
          <>
            <h2>This month{current ? ` (${monthName(current.month)})` : ''}</h2>
            {l ? (
              <p class="muted" id="usage-plan">
                {l.plan ? `Plan: ${l.plan.name}` : 'No paid plan'}
                {l.period_end ? ` · the billing period ends ${day(l.period_end)}` : ''}
              </p>
            ) : null}
            <div class="stats" id="usage-current">
              <Stat
                label="Hours recorded"
                value={num(current?.recorded_hours ?? 0)}
                limit={l ? `of ${l.recording_hours.limit ?? 'unlimited'} this period` : undefined}
              />
              <Stat label="Tracks" value={String(current?.tracks ?? 0)} />
              <Stat label="Transcription minutes" value={num(current?.transcription_minutes ?? 0)} />
              <Stat label="Storage held" value={bytes(current?.storage_bytes ?? 0)} />
              {l ? (
                <Stat
                  label="Seats used"
                  value={String(l.seats.used)}
                  limit={`of ${l.seats.paid ?? 'unlimited'} paid`}
                />
              ) : null}
            </div>
            {l && l.recording_hours.limit !== null ? (
              <progress
                max={l.recording_hours.limit}
                value={Math.min(l.recording_hours.used, l.recording_hours.limit)}
                aria-label={`Recording hours used this period: ${num(l.recording_hours.used)} of ${l.recording_hours.limit}`}
              />
            ) : null}
            <h2>Previous months</h2>
            <TableScroll label="Usage by month">
              <table id="usage-months">
                <thead>
                  <tr>
                    <th>Month</th>
                    <th class="num">Hours recorded</th>
                    <th class="num">Tracks</th>
                    <th class="num">Transcription minutes</th>
                    <th class="num">Storage held</th>
                  </tr>
                </thead>
                <tbody>
                  {previous.map((m) => (
                    <tr key={m.month}>
                      <td>{monthName(m.month)}</td>
                      <td class="num">{num(m.recorded_hours)}</td>
                      <td class="num">{m.tracks}</td>
                      <td class="num">{num(m.transcription_minutes)}</td>
                      <td class="num">{bytes(m.storage_bytes)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          </>
        );
      }}
    </Async>
  );
}
