-- Up Migration
-- The studio: consent to be recorded, stored with each participant; and the mark a crash
-- leaves on a session (the SFU process died while it recorded).
create table participant_consents (
  participant_id uuid primary key references participants (id) on delete cascade,
  organization_id uuid not null references organizations (id) on delete cascade,
  session_id uuid not null references recording_sessions (id) on delete cascade,
  text_version text not null check (text_version ~ '^[a-z0-9._-]{1,40}$'),
  consented_at timestamptz not null default now()
);
create index participant_consents_session_idx on participant_consents (session_id);
comment on table participant_consents is 'A participant''s consent to be recorded: when, and which version of the consent text they saw. Nobody is captured without one. Tenant table.';

alter table recording_sessions add column interrupted_at timestamptz;
comment on column recording_sessions.interrupted_at is 'Set when the SFU process died while this session recorded: its last take was closed at the last sealed chunk on restart, and what was not yet sealed is lost.';

-- Down Migration
alter table recording_sessions drop column interrupted_at;
drop table participant_consents;
