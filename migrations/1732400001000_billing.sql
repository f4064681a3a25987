-- Up Migration
-- Billing: Stripe customers and subscriptions per organization (kept in sync by signed
-- webhooks), the processed webhook event ids, usage events for plan limits, and the
-- deployment's billing settings that the seat check reads.

create table billing_settings (
  id boolean primary key default true check (id),
  enabled boolean not null default false,
  free_seats int not null default 1 check (free_seats >= 1),
  updated_at timestamptz not null default now()
);
insert into billing_settings (id) values (true);
comment on table billing_settings is 'One row: whether this deployment bills, and the seats an org without a paid subscription gets. Written at start-up from the configuration (STRIPE_SECRET_KEY, BILLING_FREE_SEATS); read by app.check_seat_available. Not a tenant table.';

create table billing_customers (
  organization_id uuid primary key references organizations (id) on delete cascade,
  stripe_customer_id text not null unique check (length(stripe_customer_id) between 3 and 255),
  created_at timestamptz not null default now()
);
comment on table billing_customers is 'The Stripe customer of each organization (created before its first checkout). Tenant table.';

create table subscriptions (
  stripe_subscription_id text primary key check (length(stripe_subscription_id) between 3 and 255),
  organization_id uuid not null references organizations (id) on delete cascade,
  stripe_customer_id text not null,
  plan text,
  stripe_price_id text,
  seats int not null check (seats >= 0),
  status text not null check (status in ('incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused')),
  current_period_start timestamptz,
  current_period_end timestamptz,
  cancel_at_period_end boolean not null default false,
  last_event_id text not null,
  last_event_created timestamptz not null,
  last_event_rank smallint not null,
  updated_at timestamptz not null default now()
);
create index subscriptions_org_idx on subscriptions (organization_id);
comment on table subscriptions is 'Stripe subscriptions as last reported by webhooks. (last_event_created, last_event_rank) orders events so an older one never overwrites newer state. Tenant table.';

create table stripe_events (
  id text primary key check (length(id) between 3 and 255),
  type text not null,
  stripe_created timestamptz not null,
  processed_at timestamptz not null default now()
);
comment on table stripe_events is 'Ids of Stripe webhook events already processed (idempotency). Written only through app.billing_claim_event. Not a tenant table.';

create table usage_events (
  id bigint generated always as identity primary key,
  organization_id uuid not null references organizations (id) on delete cascade,
  metric text not null check (metric ~ '^[a-z][a-z0-9_]{0,39}$'),
  quantity bigint not null check (quantity >= 0),
  occurred_at timestamptz not null default now(),
  source_id text check (length(source_id) <= 200),
  created_at timestamptz not null default now(),
  unique (organization_id, metric, source_id)
);
create index usage_events_period_idx on usage_events (organization_id, metric, occurred_at);
comment on table usage_events is 'Metered use counted against plan limits (e.g. recording_seconds); source_id makes a report idempotent. Tenant table.';

-- Down Migration
drop table usage_events, stripe_events, subscriptions, billing_customers, billing_settings;
