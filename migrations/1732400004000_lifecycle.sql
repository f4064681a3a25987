-- Up Migration
-- Data lifecycle: per-org retention, scheduled org deletion (7-day grace, read-only), account
-- deletion (30-day recovery), signed deletion certificates, encrypted org exports, the
-- schedule of the lifecycle sweep, and an organisation's own KMS key.

alter table organizations
  add column retention_days int check (retention_days between 1 and 36500),
  add column deletion_scheduled_at timestamptz,
  add column deletion_due_at timestamptz,
  add column deletion_scheduled_by uuid references users (id) on delete set null,
  add column deletion_reminded_at timestamptz,
  add column kms_key_id text check (length(kms_key_id) between 1 and 2048),
  add constraint organizations_deletion_consistent check ((deletion_scheduled_at is null) = (deletion_due_at is null));
comment on column organizations.retention_days is 'Recordings and transcripts older than this many days are erased by the lifecycle sweep; NULL keeps them until deleted.';
comment on column organizations.deletion_due_at is 'When set, the org is scheduled for deletion: read-only until then (any owner can cancel), erased and removed after.';
comment on column organizations.kms_key_id is 'The organisation''s own AWS KMS key (bring your own key) for new and re-wrapped data keys; NULL: the deployment''s key. Set by the operator (npm run keys:rotate).';

alter table users
  add column deletion_requested_at timestamptz,
  add column deletion_due_at timestamptz,
  add column restore_token_hash bytea,
  add column restore_token_expires_at timestamptz;
comment on column users.deletion_due_at is 'Account deletion requested: sign-in is disabled (a verified code offers a restore instead) and the account is purged at this time.';

alter table audit_log add column orphaned_at timestamptz;
comment on column audit_log.orphaned_at is 'When the entry''s organization was deleted (organization_id is then NULL); the entry is purged 12 months later.';
create index audit_log_orphaned_idx on audit_log (orphaned_at) where orphaned_at is not null;

create table deletion_certificates (
  id uuid primary key,
  organization_id uuid not null references organizations (id) on delete cascade,
  session_id uuid not null,
  reason text not null check (reason in ('deleted', 'retention')),
  statement jsonb not null,
  signature text not null,
  created_at timestamptz not null default now()
);
create unique index deletion_certificates_session_idx on deletion_certificates (organization_id, session_id);
comment on table deletion_certificates is 'Signed statements that a recording''s data key was erased (what became unreadable, when). Verifiable with the deployment''s Ed25519 public key. Tenant table.';

create table export_jobs (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  requested_by uuid references users (id) on delete set null,
  recipient_kind text not null check (recipient_kind in ('x25519', 'passphrase')),
  recipient text check (recipient ~ '^age1[02-9ac-hj-np-z]{58}$'),
  status text not null default 'queued' check (status in ('queued', 'running', 'done', 'failed', 'expired')),
  sessions_total int not null default 0,
  sessions_done int not null default 0,
  bytes_written bigint not null default 0,
  object_key text,
  size_bytes bigint,
  error_code text check (error_code ~ '^[a-z_]{1,64}$'),
  created_at timestamptz not null default now(),
  started_at timestamptz,
  heartbeat_at timestamptz,
  finished_at timestamptz,
  expires_at timestamptz,
  download_count int not null default 0,
  check ((recipient_kind = 'x25519') = (recipient is not null))
);
create index export_jobs_org_idx on export_jobs (organization_id, created_at desc);
comment on table export_jobs is 'Whole-organisation exports (tar, age-encrypted to a recipient) with progress; the file lives in object storage until expires_at. A passphrase is never stored. Tenant table.';

create table lifecycle_schedule (
  name text primary key check (name ~ '^[a-z_]{1,40}$'),
  next_run_at timestamptz not null,
  last_run_at timestamptz,
  last_result jsonb
);
comment on table lifecycle_schedule is 'When the lifecycle sweep (retention, org and account deletion, audit purge, expired exports) runs next; claimed by one process at a time. Not a tenant table.';

-- Down Migration
drop table lifecycle_schedule, export_jobs, deletion_certificates;
drop index audit_log_orphaned_idx;
alter table audit_log drop column orphaned_at;
alter table users drop column deletion_requested_at, drop column deletion_due_at, drop column restore_token_hash, drop column restore_token_expires_at;
alter table organizations drop constraint organizations_deletion_consistent, drop column retention_days, drop column deletion_scheduled_at,
  drop column deletion_due_at, drop column deletion_scheduled_by, drop column deletion_reminded_at, drop column kms_key_id;
