-- Up Migration
-- Foundation: users and their sign-in state (user-scoped, not tenant tables), and the
-- first tenant tables: organizations, memberships, invitations, audit_log.
create extension if not exists pgcrypto;
create schema if not exists app;

create table users (
  id uuid primary key default gen_random_uuid(),
  email text not null unique check (email = lower(email) and length(email) between 3 and 254),
  display_name text check (length(display_name) <= 100),
  created_at timestamptz not null default now(),
  last_sign_in_at timestamptz
);
comment on table users is 'People who can sign in. Not a tenant table: a user may belong to many organizations.';

create table login_codes (
  id uuid primary key default gen_random_uuid(),
  email text not null,
  code_hash bytea not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  attempts int not null default 0,
  used_at timestamptz,
  dead_at timestamptz
);
create index login_codes_email_idx on login_codes (email, created_at desc);
comment on table login_codes is 'Emailed single-use sign-in codes, stored only as an HMAC under the server secret.';

create table auth_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  token_hash bytea not null unique,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  user_agent text check (length(user_agent) <= 300),
  client_ip text check (length(client_ip) <= 64)
);
create index auth_sessions_user_idx on auth_sessions (user_id);
comment on table auth_sessions is 'Signed-in browser sessions; the cookie holds a random token, only its SHA-256 is stored.';

create table rate_limits (
  bucket text not null,
  window_start timestamptz not null,
  count int not null default 0,
  primary key (bucket, window_start)
);
comment on table rate_limits is 'Fixed-window counters for sign-in throttling, shared by every API process. Buckets hold HMACs, never raw addresses.';

create table organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 100),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table organizations is 'Tenants. RLS: visible only to members, with app.org_id set to the row id.';

create table memberships (
  organization_id uuid not null references organizations (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  role text not null check (role in ('owner', 'admin', 'member')),
  created_at timestamptz not null default now(),
  primary key (organization_id, user_id)
);
create index memberships_user_idx on memberships (user_id);
comment on table memberships is 'Who belongs to which organization, with which role. Tenant table.';

create table invitations (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  email text not null check (email = lower(email)),
  role text not null check (role in ('owner', 'admin', 'member')),
  token_hash bytea not null unique,
  invited_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  accepted_at timestamptz,
  accepted_by uuid references users (id) on delete set null,
  revoked_at timestamptz
);
create index invitations_org_idx on invitations (organization_id, created_at desc);
comment on table invitations is 'Pending and past invitations; the emailed link carries a token, only its SHA-256 is stored. Tenant table.';

create table audit_log (
  id bigint generated always as identity primary key,
  organization_id uuid references organizations (id) on delete set null,
  actor_user_id uuid references users (id) on delete set null,
  actor_email text,
  action text not null,
  target_user_id uuid references users (id) on delete set null,
  target_email text,
  details jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
create index audit_log_org_idx on audit_log (organization_id, id desc);
create unique index audit_log_org_entry_once on audit_log (organization_id, (details ->> 'auth_session_id')) where action = 'auth.org_entered';
comment on table audit_log is 'Who did what to whom and when, per organization. Tenant table; kept with organization_id nulled after org deletion.';

-- Down Migration
drop table audit_log, invitations, memberships, organizations, rate_limits, auth_sessions, login_codes, users;
