-- Billing: RLS on the billing tenant tables, the seat check, and the narrow admin path the
-- Stripe webhook uses (security definer, fixed search_path). Named to run after
-- 090_grants.sql, so no revoke there can undo the grants made here; functions created here
-- revoke PUBLIC's default EXECUTE themselves.

select app.enforce_tenant_rls('billing_customers', 'subscriptions', 'usage_events');

drop policy if exists billing_customers_select on billing_customers;
create policy billing_customers_select on billing_customers for select
  using (organization_id = (select app.admin_org_id()));
drop policy if exists billing_customers_insert on billing_customers;
create policy billing_customers_insert on billing_customers for insert
  with check (organization_id = (select app.current_org_id()) and (select app.current_role_in_org()) = 'owner');

-- Subscriptions are written only by the webhook path (definer functions below).
drop policy if exists subscriptions_select on subscriptions;
create policy subscriptions_select on subscriptions for select
  using (organization_id = (select app.admin_org_id()));

drop policy if exists usage_events_select on usage_events;
create policy usage_events_select on usage_events for select
  using (organization_id = (select app.admin_org_id()));
drop policy if exists usage_events_insert on usage_events;
create policy usage_events_insert on usage_events for insert
  with check (organization_id = (select app.member_org_id()));

-- Statuses that entitle an org to its paid seats (past_due: Stripe is still retrying).
create or replace function app.billing_entitled(p_status text) returns boolean
  language sql immutable as $$ select p_status in ('active', 'trialing', 'past_due') $$;

-- The subscription that decides an org's plan: an entitled one first, then the newest.
-- Invoker rights: called by the API it sees only what RLS lets it (admins of the org).
create or replace function app.billing_current_subscription(p_org uuid) returns public.subscriptions
  language sql stable set search_path = pg_catalog, public as $$
  select * from public.subscriptions where organization_id = p_org
   order by app.billing_entitled(status) desc, current_period_end desc nulls last, last_event_created desc
   limit 1
$$;

-- Seats an org may fill: NULL (no limit) when billing is off; else the current entitled
-- subscription's quantity, or the free seats without one.
create or replace function app.billing_seat_limit(p_org uuid) returns int
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
declare
  v_settings public.billing_settings;
  v_sub public.subscriptions;
begin
  select * into v_settings from public.billing_settings where id;
  if not found or not v_settings.enabled then return null; end if;
  v_sub := app.billing_current_subscription(p_org);
  if v_sub.stripe_subscription_id is not null and app.billing_entitled(v_sub.status) then return v_sub.seats; end if;
  return v_settings.free_seats;
end $$;

-- The seat limit of the current org, for its members (the billing page).
create or replace function app.current_seat_limit() returns int
  language sql stable security definer set search_path = pg_catalog, public as $$ select app.billing_seat_limit(app.current_org_id()) where app.is_member() $$;

-- Replaces the foundation's no-op (sql/010_functions.sql). A seat is a membership: pending
-- invitations hold none, so the check happens when someone joins. The org row is locked so
-- two joins cannot both take the last seat. Existing members are never removed when seats
-- shrink; only new joins are refused.
create or replace function app.check_seat_available(p_org uuid, p_user uuid) returns void
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_limit int;
  v_used int;
begin
  v_limit := app.billing_seat_limit(p_org);
  if v_limit is null then return; end if;
  perform 1 from public.organizations where id = p_org for no key update;
  if exists (select 1 from public.memberships where organization_id = p_org and user_id = p_user) then return; end if;
  select count(*) into v_used from public.memberships where organization_id = p_org;
  if v_used >= v_limit then
    raise exception 'seats_exhausted: all % seat(s) of this organization are taken; ask an owner to add seats under Billing', v_limit;
  end if;
end $$;

-- Admin path (webhook): records an event id; false when it was already processed.
create or replace function app.billing_claim_event(p_id text, p_type text, p_created timestamptz) returns boolean
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
begin
  insert into public.stripe_events (id, type, stripe_created) values (p_id, p_type, p_created) on conflict (id) do nothing;
  return found;
end $$;

-- Admin path (webhook): the org a Stripe customer belongs to, else the org named by the
-- object's metadata when that org exists and has no other customer yet.
create or replace function app.billing_resolve_org(p_customer text, p_org_hint uuid) returns uuid
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
declare v_org uuid;
begin
  select organization_id into v_org from public.billing_customers where stripe_customer_id = p_customer;
  if found then return v_org; end if;
  if p_org_hint is not null
     and exists (select 1 from public.organizations where id = p_org_hint)
     and not exists (select 1 from public.billing_customers where organization_id = p_org_hint) then
    return p_org_hint;
  end if;
  return null;
end $$;

-- Admin path (webhook): a completed checkout links the customer to its org (when not yet
-- linked) and is written to the org's audit log. Returns the org, or NULL when unknown.
create or replace function app.billing_checkout_completed(p_org_hint uuid, p_customer text, p_session text, p_subscription text, p_event text) returns uuid
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v_org uuid := app.billing_resolve_org(p_customer, p_org_hint);
begin
  if v_org is null then return null; end if;
  insert into public.billing_customers (organization_id, stripe_customer_id) values (v_org, p_customer) on conflict do nothing;
  insert into public.audit_log (organization_id, action, details)
    values (v_org, 'billing.checkout_completed', jsonb_build_object('checkout_session', p_session, 'subscription', p_subscription, 'event_id', p_event));
  return v_org;
end $$;

-- Admin path (webhook): applies a subscription object unless newer state is already
-- stored. Order: (event created, rank created=0 < updated=1 < deleted=2); a canceled
-- subscription never comes back. Plan, seat and status changes go to the audit log.
-- Returns 'applied', 'stale' or 'unknown_org'.
create or replace function app.billing_apply_subscription(
  p_sub text, p_customer text, p_org_hint uuid, p_plan text, p_price text, p_seats int, p_status text,
  p_period_start timestamptz, p_period_end timestamptz, p_cancel_at_period_end boolean,
  p_event text, p_event_type text, p_event_created timestamptz, p_event_rank int) returns text
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_org uuid := app.billing_resolve_org(p_customer, p_org_hint);
  v_old public.subscriptions;
begin
  select * into v_old from public.subscriptions where stripe_subscription_id = p_sub for update;
  if found then
    v_org := v_old.organization_id;
    if (v_old.last_event_created, v_old.last_event_rank) > (p_event_created, p_event_rank::smallint) then return 'stale'; end if;
    if v_old.status in ('canceled', 'incomplete_expired') and p_status not in ('canceled', 'incomplete_expired') then return 'stale'; end if;
    update public.subscriptions set plan = p_plan, stripe_price_id = p_price, seats = p_seats, status = p_status,
           current_period_start = p_period_start, current_period_end = p_period_end, cancel_at_period_end = p_cancel_at_period_end,
           last_event_id = p_event, last_event_created = p_event_created, last_event_rank = p_event_rank, updated_at = now()
     where stripe_subscription_id = p_sub;
  else
    if v_org is null then return 'unknown_org'; end if;
    insert into public.subscriptions (stripe_subscription_id, organization_id, stripe_customer_id, plan, stripe_price_id, seats, status,
           current_period_start, current_period_end, cancel_at_period_end, last_event_id, last_event_created, last_event_rank)
    values (p_sub, v_org, p_customer, p_plan, p_price, p_seats, p_status, p_period_start, p_period_end, p_cancel_at_period_end,
           p_event, p_event_created, p_event_rank);
  end if;
  if v_old.stripe_subscription_id is null or v_old.plan is distinct from p_plan or v_old.seats <> p_seats
     or v_old.status <> p_status or v_old.cancel_at_period_end <> p_cancel_at_period_end then
    insert into public.audit_log (organization_id, action, details)
      values (v_org, 'billing.subscription_changed', jsonb_build_object(
        'subscription', p_sub, 'event_id', p_event, 'event_type', p_event_type,
        'from', case when v_old.stripe_subscription_id is null then null
                     else jsonb_build_object('plan', v_old.plan, 'seats', v_old.seats, 'status', v_old.status, 'cancel_at_period_end', v_old.cancel_at_period_end) end,
        'to', jsonb_build_object('plan', p_plan, 'seats', p_seats, 'status', p_status, 'cancel_at_period_end', p_cancel_at_period_end)));
  end if;
  return 'applied';
end $$;

-- Admin path (webhook): an invoice was paid or its payment failed. Writes the audit entry
-- and returns the org with its owners' addresses for the email; no row for an unknown customer.
create or replace function app.billing_invoice_event(p_customer text, p_action text, p_invoice text, p_amount bigint, p_currency text, p_event text)
  returns table (organization_id uuid, organization_name text, owner_emails text[])
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
#variable_conflict use_column
declare v_org uuid;
begin
  if p_action not in ('billing.invoice_paid', 'billing.payment_failed') then raise exception 'invalid_input: unknown invoice action'; end if;
  select c.organization_id into v_org from public.billing_customers c where c.stripe_customer_id = p_customer;
  if not found then return; end if;
  insert into public.audit_log (organization_id, action, details)
    values (v_org, p_action, jsonb_build_object('invoice', p_invoice, 'amount', p_amount, 'currency', p_currency, 'event_id', p_event));
  return query
    select o.id, o.name, coalesce(array_agg(u.email order by u.email) filter (where u.email is not null), '{}')
      from public.organizations o
      left join public.memberships m on m.organization_id = o.id and m.role = 'owner'
      left join public.users u on u.id = m.user_id
     where o.id = v_org
     group by o.id, o.name;
end $$;

-- Grants (after 090_grants.sql, which revokes table grants and PUBLIC execute first).
grant select, insert on billing_customers to recorder_app;
grant select on subscriptions to recorder_app;
grant select, insert on usage_events to recorder_app;
-- Function grants, by duty: sql/099_duties.sql.
