-- Up Migration
-- The dashboard: the usage ledger grows a session column and the metrics the dashboard
-- shows; the audit log remembers when an actor's or target's account was deleted (the FK
-- nulls the id, and the purge nulls the address, so otherwise a deleted account and the
-- system would look alike); sign-in sessions keep the browser's time zone.

-- No foreign key: ledger rows are never updated (append-only), and sessions are erased by
-- key, not deleted; the organization's cascade still removes the ledger with the org.
alter table usage_events add column session_id uuid;
comment on column usage_events.session_id is 'The recording session the usage belongs to, when it belongs to one.';
create index usage_events_org_time_idx on usage_events (organization_id, occurred_at);
comment on table usage_events is 'The usage ledger, append-only: recording_seconds and bytes_stored per closed track, transcribed_seconds per finished transcript, bytes_erased per erased session (written by triggers where the work happens, sql/100_dashboard.sql). The single source for the dashboard, billing limits and the export. source_id makes a report idempotent. Tenant table.';

alter table audit_log add column actor_deleted_at timestamptz, add column target_deleted_at timestamptz;
comment on column audit_log.actor_deleted_at is 'When the actor''s account was deleted (set by a trigger when actor_user_id is nulled).';
comment on column audit_log.target_deleted_at is 'When the target''s account was deleted (set by a trigger when target_user_id is nulled).';
create index audit_log_org_action_idx on audit_log (organization_id, action, id);

alter table auth_sessions add column time_zone text check (length(time_zone) <= 64);
comment on column auth_sessions.time_zone is 'The browser''s IANA time zone at sign-in, as it reported it (shown to the user in their sign-in list).';

-- Down Migration
alter table auth_sessions drop column time_zone;
drop index audit_log_org_action_idx;
alter table audit_log drop column actor_deleted_at, drop column target_deleted_at;
drop index usage_events_org_time_idx;
alter table usage_events drop column session_id;
