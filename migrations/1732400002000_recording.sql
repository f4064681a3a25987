-- Up Migration
-- Live recording sessions: sessions with a wrapped per-session data key, participants,
-- recording takes, captured tracks, their sealed chunks, and the session timeline.
create table recording_sessions (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  title text not null check (length(title) between 1 and 200),
  status text not null default 'open' check (status in ('open', 'ended')),
  created_by uuid references users (id) on delete set null,
  guest_token_hash bytea not null unique,
  wrapped_key jsonb,
  key_erased_at timestamptz,
  created_at timestamptz not null default now(),
  ended_at timestamptz,
  deleted_at timestamptz
);
create index recording_sessions_org_idx on recording_sessions (organization_id, created_at desc);
comment on table recording_sessions is 'Recording sessions. wrapped_key is the KMS/KEK-wrapped data key; erasing it makes every chunk unreadable. Tenant table.';

create table participants (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  session_id uuid not null references recording_sessions (id) on delete cascade,
  user_id uuid references users (id) on delete set null,
  display_name text not null check (length(display_name) between 1 and 80),
  role text not null check (role in ('host', 'guest')),
  created_at timestamptz not null default now(),
  joined_at timestamptz,
  left_at timestamptz
);
create index participants_session_idx on participants (session_id);
comment on table participants is 'People in a session: members (host) or guests by link. Tenant table.';

create table recording_takes (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  session_id uuid not null references recording_sessions (id) on delete cascade,
  seq int not null,
  started_at timestamptz not null,
  stopped_at timestamptz,
  started_by uuid references participants (id) on delete set null,
  unique (session_id, seq)
);
comment on table recording_takes is 'Each start..stop of recording within a session. Tenant table.';

create table tracks (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  session_id uuid not null references recording_sessions (id) on delete cascade,
  take_id uuid not null references recording_takes (id) on delete cascade,
  participant_id uuid not null references participants (id) on delete cascade,
  kind text not null check (kind in ('audio', 'video')),
  mime_type text not null,
  clock_rate int not null,
  payload_type int not null,
  producer_id text not null,
  started_at timestamptz not null,
  ended_at timestamptz,
  chunk_count int not null default 0,
  packet_count bigint not null default 0,
  byte_count bigint not null default 0,
  lost_chunks int not null default 0
);
create index tracks_session_idx on tracks (session_id, started_at);
comment on table tracks is 'One captured producer (a participant''s microphone or camera) in one take. Tenant table.';

create table chunks (
  organization_id uuid not null references organizations (id) on delete cascade,
  track_id uuid not null references tracks (id) on delete cascade,
  seq int not null,
  object_key text not null,
  size int not null,
  sha256 bytea not null,
  packet_count int not null,
  first_arrival_at timestamptz not null,
  last_arrival_at timestamptz not null,
  first_rtp_seq int not null,
  last_rtp_seq int not null,
  first_rtp_ts bigint not null,
  last_rtp_ts bigint not null,
  created_at timestamptz not null default now(),
  primary key (track_id, seq)
);
comment on table chunks is 'Metadata of sealed chunks; the ciphertext lives in object storage under object_key. Tenant table.';

create table session_events (
  id bigint generated always as identity primary key,
  organization_id uuid not null references organizations (id) on delete cascade,
  session_id uuid not null references recording_sessions (id) on delete cascade,
  at timestamptz not null default now(),
  kind text not null,
  participant_id uuid references participants (id) on delete set null,
  track_id uuid references tracks (id) on delete set null,
  details jsonb not null default '{}'::jsonb
);
create index session_events_session_idx on session_events (session_id, at);
comment on table session_events is 'Session timeline: joins, leaves, recording started/stopped, tracks. Tenant table.';

-- Down Migration
drop table session_events, chunks, tracks, recording_takes, participants, recording_sessions;
