-- Up Migration
-- Signed webhooks (Standard Webhooks): endpoints an org's admins register, the outbox of
-- deliveries per endpoint (one row per event and endpoint, delivered strictly in order,
-- the row's event_id is the `webhook-id` of every attempt), and the log of each attempt.
-- Signing secrets are stored sealed under a data key wrapped by the key provider.

create table webhook_endpoints (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  url text not null check (length(url) between 8 and 2000),
  events text[] not null check (cardinality(events) between 1 and 20),
  enabled boolean not null default true,
  disabled_reason text check (disabled_reason in ('failing', 'admin')),
  wrapped_key jsonb not null,
  secret_sealed bytea not null,
  previous_secret_sealed bytea,
  previous_secret_expires_at timestamptz,
  created_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (enabled = (disabled_reason is null))
);
create index webhook_endpoints_org_idx on webhook_endpoints (organization_id, created_at);
comment on table webhook_endpoints is 'Webhook endpoints of an org: URL, subscribed event types, enabled (disabled_reason failing: after the last retry; admin: by hand). wrapped_key: a data key from the key provider (context: org, "webhook:<id>"); secret_sealed / previous_secret_sealed: the signing secrets sealed under it (the previous one signs too until previous_secret_expires_at). Tenant table.';

create table webhook_deliveries (
  id bigint generated always as identity primary key,
  organization_id uuid not null references organizations (id) on delete cascade,
  endpoint_id uuid not null references webhook_endpoints (id) on delete cascade,
  event_id text not null default 'msg_' || replace(gen_random_uuid()::text, '-', '') check (event_id ~ '^msg_[A-Za-z0-9]{16,64}$'),
  event_type text not null check (event_type ~ '^[a-z]+\.[a-z]+$'),
  dedup_key text,
  payload jsonb not null,
  state text not null default 'pending' check (state in ('pending', 'delivered', 'failed', 'skipped')),
  attempts int not null default 0,
  next_attempt_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  finished_at timestamptz,
  last_attempt_at timestamptz,
  last_status int,
  last_latency_ms int,
  last_error text check (length(last_error) <= 300),
  unique (endpoint_id, event_id),
  unique (endpoint_id, dedup_key)
);
create index webhook_deliveries_pending_idx on webhook_deliveries (endpoint_id, id) where state = 'pending';
create index webhook_deliveries_log_idx on webhook_deliveries (endpoint_id, id desc);
comment on table webhook_deliveries is 'The outbox: one event for one endpoint. Delivered in id order per endpoint; event_id is the webhook-id of every attempt. payload holds ids only (links are added when sent), never transcript text or media. Tenant table.';

create table webhook_attempts (
  id bigint generated always as identity primary key,
  organization_id uuid not null references organizations (id) on delete cascade,
  delivery_id bigint not null references webhook_deliveries (id) on delete cascade,
  attempt int not null,
  at timestamptz not null default now(),
  status int,
  latency_ms int not null,
  error text check (length(error) <= 300),
  unique (delivery_id, attempt)
);
comment on table webhook_attempts is 'One try of one delivery: HTTP status (null when no response), latency, and the error. Tenant table.';

-- Down Migration
drop table webhook_attempts, webhook_deliveries, webhook_endpoints;
