/**
 * The organisation's Billing tab (owners and admins): plan, seats, renewal and usage; owners
 * pick a plan (Stripe Checkout) or manage card, invoices and cancellation (Stripe Customer
 * Portal). With billing off the tab is not offered and no billing route is asked.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, messageOf } from '../ui/api.ts';
import { Banner, Message, useLoad } from '../ui/components.tsx';
import { billingOn, OrgFrame } from '../ui/org.tsx';
import { when } from '../ui/format.ts';

interface Billing {
  plan: { id: string; name: string } | null;
  status: string;
  plans: { id: string; name: string }[];
  seats: { used: number; paid: number | null };
  renews_at: string | null;
  ends_at: string | null;
  usage: { recording_hours: { used: number; limit: number | null } };
  can_manage: boolean;
  has_billing_account: boolean;
}

/** The billing page. */
export function BillingPage(props: { orgId: string }): JSX.Element {
  return (
    <OrgFrame orgId={props.orgId} tab="billing">
      {(c) =>
        !billingOn() ? (
          <Banner kind="info">Billing is off on this server: there is nothing to pay.</Banner>
        ) : c.admin ? (
          <BillingSection orgId={c.org.id} />
        ) : (
          <Banner kind="info">Only owners and admins can see billing.</Banner>
        )
      }
    </OrgFrame>
  );
}

/** The billing section, or nothing when billing is off. */
export function BillingSection(props: { orgId: string }): JSX.Element | null {
  const { orgId } = props;
  const loaded = useLoad(async () => {
    try {
      return await api<Billing>('GET', `/api/orgs/${orgId}/billing`);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'billing_disabled') return null;
      throw err;
    }
  }, [orgId]);
  const [plan, setPlan] = useState<string | null>(null);
  const [seats, setSeats] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (loaded.error) return <Message text={loaded.error} />;
  const b = loaded.data;
  if (!b) return null;
  const go = async (path: string, body?: unknown) => {
    try {
      location.href = (await api<{ url: string }>('POST', path, body)).url;
    } catch (err) {
      setError(messageOf(err));
    }
  };
  const hours = b.usage.recording_hours;
  const planValue = plan ?? b.plans[0]?.id ?? '';
  const seatsValue = seats ?? String(Math.max(b.seats.used, 1));
  return (
    <section id="billing">
      <h2>Billing</h2>
      <p id="billing-summary">
        {b.plan
          ? `Plan: ${b.plan.name} (${b.status}).`
          : `No paid plan${b.status === 'none' ? '' : ` (subscription ${b.status})`}.`}
        {` Seats: ${b.seats.used} used of ${b.seats.paid ?? 'unlimited'}.`}
        {b.renews_at ? ` Renews ${when(b.renews_at)}.` : ''}
        {b.ends_at ? ` Ends ${when(b.ends_at)}.` : ''}
      </p>
      <p class="muted">
        Recording this period: {hours.used} of {hours.limit ?? 'unlimited'} hours.
      </p>
      {b.can_manage && !b.plan ? (
        <form
          id="billing-checkout"
          onSubmit={(e) => {
            e.preventDefault();
            void go(`/api/orgs/${orgId}/billing/checkout`, { plan: planValue, seats: Number(seatsValue) });
          }}
        >
          <select
            id="billing-plan"
            aria-label="Plan"
            value={planValue}
            onChange={(e) => setPlan(e.currentTarget.value)}
          >
            {b.plans.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
          <input
            id="billing-seats"
            type="number"
            min={1}
            max={10000}
            aria-label="Seats"
            value={seatsValue}
            onInput={(e) => setSeats(e.currentTarget.value)}
          />
          <button type="submit">Choose plan</button>
        </form>
      ) : null}
      {b.can_manage && b.has_billing_account ? (
        <button id="billing-portal" class="secondary" onClick={() => void go(`/api/orgs/${orgId}/billing/portal`)}>
          Manage billing
        </button>
      ) : null}
      {error ? <Message text={error} /> : null}
    </section>
  );
}
