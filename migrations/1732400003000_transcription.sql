-- Up Migration
-- Transcription: per-org settings, one row per transcription run (status, progress, lease
-- of the worker holding it), and the transcript each run produced. The transcript itself is
-- sealed with the session's data key in object storage; only metadata lives here.

create table transcription_settings (
  organization_id uuid primary key references organizations (id) on delete cascade,
  auto boolean not null default true,
  language text not null default 'auto' check (language ~ '^(auto|[a-z]{2,3})$'),
  updated_at timestamptz not null default now(),
  updated_by uuid references users (id) on delete set null
);
comment on table transcription_settings is 'Whether ended sessions are transcribed automatically, and in which language (auto: detected). No row: the defaults. Tenant table.';

create table transcription_runs (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  session_id uuid not null references recording_sessions (id) on delete cascade,
  reason text not null check (reason in ('auto', 'rerun')),
  requested_by uuid references users (id) on delete set null,
  language text not null default 'auto' check (language ~ '^(auto|[a-z]{2,3})$'),
  status text not null default 'queued' check (status in ('queued', 'running', 'done', 'failed')),
  stage text check (stage in ('decode', 'vad', 'model', 'store')),
  progress real not null default 0 check (progress >= 0 and progress <= 1),
  attempts int not null default 0,
  worker_id text,
  lease_expires_at timestamptz,
  error_code text check (error_code ~ '^[a-z_]{1,64}$'),
  error_message text check (length(error_message) <= 500),
  model text,
  device text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);
create index transcription_runs_session_idx on transcription_runs (session_id, created_at desc);
create index transcription_runs_lease_idx on transcription_runs (lease_expires_at) where status = 'running';
-- At most one run of a session waits or runs at a time.
create unique index transcription_runs_active_idx on transcription_runs (session_id) where status in ('queued', 'running');
comment on table transcription_runs is 'One transcription of one session: queued, running (held by worker_id until lease_expires_at; attempts counts claims), done or failed with error_code. Tenant table.';

create table transcripts (
  run_id uuid primary key references transcription_runs (id) on delete cascade,
  organization_id uuid not null references organizations (id) on delete cascade,
  session_id uuid not null references recording_sessions (id) on delete cascade,
  object_key text not null,
  model text not null,
  language text,
  segment_count int not null,
  speaker_count int not null,
  audio_seconds real not null,
  speech_seconds real not null,
  created_at timestamptz not null default now()
);
create index transcripts_session_idx on transcripts (session_id, created_at desc);
comment on table transcripts is 'The transcript a run produced (at most one per run: the primary key). object_key holds it sealed with the session data key. Tenant table.';

-- Down Migration
drop table transcripts, transcription_runs, transcription_settings;
