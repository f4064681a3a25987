-- The dashboard's data: the usage ledger written where the work happens (triggers on the
-- rows the SFU, the transcription worker and erasure write, so no writer can forget it and
-- the ledger commits or rolls back with the work), the audit log's memory of deleted
-- accounts, and the sign-in session's time zone. Runs after 099_duties.sql (which takes
-- EXECUTE from everyone first), so it grants and revokes for its own functions here.
--
-- Ledger rows are append-only: recorder_app holds select and insert on usage_events
-- (095_billing.sql) and never update or delete; corrections are new rows.

-- The ledger rows of a track (its first report has the track id as source, each later one
-- `<track>#<n>`), so a track that is resumed and closed again adds only what it grew by.
create or replace function app.ledger_track_report() returns trigger
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_src text := new.id::text;
  v_secs bigint; v_bytes bigint; v_prev_secs bigint; v_prev_bytes bigint; v_n int; v_now timestamptz := app.now();
begin
  select coalesce(sum(quantity) filter (where metric = 'recording_seconds'), 0),
         coalesce(sum(quantity) filter (where metric = 'bytes_stored'), 0),
         count(*)
    into v_prev_secs, v_prev_bytes, v_n
    from public.usage_events
   where organization_id = new.organization_id and metric in ('recording_seconds', 'bytes_stored')
     and (source_id = v_src or source_id like v_src || '#%');
  v_secs := greatest(round(extract(epoch from new.ended_at - new.started_at))::bigint, 0) - v_prev_secs;
  v_bytes := new.byte_count - v_prev_bytes;
  if v_n > 0 then v_src := v_src || '#' || v_n; end if;
  -- The first report always writes both rows (a track of 0 s still counts as a track).
  if v_secs > 0 or v_n = 0 then
    insert into public.usage_events (organization_id, session_id, metric, quantity, occurred_at, source_id)
      values (new.organization_id, new.session_id, 'recording_seconds', greatest(v_secs, 0), v_now, v_src)
      on conflict do nothing;
  end if;
  if v_bytes > 0 or v_n = 0 then
    insert into public.usage_events (organization_id, session_id, metric, quantity, occurred_at, source_id)
      values (new.organization_id, new.session_id, 'bytes_stored', greatest(v_bytes, 0), v_now, v_src)
      on conflict do nothing;
  end if;
  return null;
end $$;

drop trigger if exists tracks_ledger_closed on tracks;
create trigger tracks_ledger_closed after update of ended_at, byte_count on tracks
  for each row when (new.ended_at is not null and (old.ended_at is null or new.ended_at > old.ended_at or new.byte_count > old.byte_count))
  execute function app.ledger_track_report();
drop trigger if exists tracks_ledger_inserted on tracks;
create trigger tracks_ledger_inserted after insert on tracks
  for each row when (new.ended_at is not null) execute function app.ledger_track_report();

-- A finished transcript: the audio seconds it transcribed (once per run).
create or replace function app.ledger_transcript_done() returns trigger
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
begin
  insert into public.usage_events (organization_id, session_id, metric, quantity, occurred_at, source_id)
    values (new.organization_id, new.session_id, 'transcribed_seconds', greatest(round(new.audio_seconds)::bigint, 0), app.now(), new.run_id::text)
    on conflict do nothing;
  return null;
end $$;

drop trigger if exists transcripts_ledger on transcripts;
create trigger transcripts_ledger after insert on transcripts
  for each row execute function app.ledger_transcript_done();

-- An erased session (deleted, by retention, or with its org): the bytes the ledger says it
-- stored are no longer held.
create or replace function app.ledger_session_erased() returns trigger
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v_bytes bigint;
begin
  select coalesce(sum(quantity), 0) into v_bytes from public.usage_events
   where organization_id = new.organization_id and session_id = new.id and metric = 'bytes_stored';
  insert into public.usage_events (organization_id, session_id, metric, quantity, occurred_at, source_id)
    values (new.organization_id, new.id, 'bytes_erased', v_bytes, app.now(), new.id::text)
    on conflict do nothing;
  return null;
end $$;

drop trigger if exists recording_sessions_ledger_erased on recording_sessions;
create trigger recording_sessions_ledger_erased after update of key_erased_at on recording_sessions
  for each row when (old.key_erased_at is null and new.key_erased_at is not null)
  execute function app.ledger_session_erased();

-- The audit log keeps who acted even when the account is gone: when the foreign key nulls
-- actor_user_id or target_user_id (the account was purged), mark the entry as such.
create or replace function app.audit_mark_deleted_accounts() returns trigger
  language plpgsql volatile set search_path = pg_catalog, public as $$
begin
  if old.actor_user_id is not null and new.actor_user_id is null then new.actor_deleted_at := coalesce(new.actor_deleted_at, now()); end if;
  if old.target_user_id is not null and new.target_user_id is null then new.target_deleted_at := coalesce(new.target_deleted_at, now()); end if;
  return new;
end $$;

drop trigger if exists audit_log_deleted_accounts on audit_log;
create trigger audit_log_deleted_accounts before update of actor_user_id, target_user_id on audit_log
  for each row execute function app.audit_mark_deleted_accounts();

-- Sign-in: the holder of a live session token records the browser's IANA time zone on it
-- (the verify route calls it right after app.signin_verify made the session). Only the
-- holder of the token can: it is the secret the session cookie carries.
create or replace function app.auth_session_set_time_zone(p_token text, p_zone text) returns boolean
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
begin
  if p_zone is null or p_zone !~ '^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+){0,2}$' or length(p_zone) > 64 then
    raise exception 'invalid_input: not a time zone';
  end if;
  update public.auth_sessions set time_zone = p_zone
   where token_hash = sha256(convert_to(p_token, 'UTF8')) and revoked_at is null and expires_at > app.now();
  return found;
end $$;

-- Sign out elsewhere: the proven user's other live sessions are revoked. Invoker rights:
-- the auth_sessions_revoke policy already lets a user revoke their own sessions.
revoke execute on function app.ledger_track_report(), app.ledger_transcript_done(), app.ledger_session_erased(),
  app.audit_mark_deleted_accounts(), app.auth_session_set_time_zone(text, text)
  from public, recorder_app, recorder_sfu, recorder_jobs, recorder_sweep;
grant execute on function app.auth_session_set_time_zone(text, text) to recorder_app;

-- Home: the proven user's sessions across all their organisations, newest first, with what
-- the dashboard needs to tell their state (recording now, the newest transcription run).
-- Acts only for app.current_user_id() (NULL without a proven request: no rows); erased
-- sessions are left out.
create or replace function app.my_home_sessions(p_limit int)
  returns table (id uuid, organization_id uuid, organization_name text, title text, status text, created_at timestamptz,
                 started_at timestamptz, ended_at timestamptz, recording boolean, track_count int, run_status text, has_transcript boolean)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select s.id, s.organization_id, o.name, s.title, s.status, s.created_at,
         (select min(k.started_at) from public.recording_takes k where k.session_id = s.id),
         s.ended_at,
         s.status = 'open' and exists (select 1 from public.recording_takes k where k.session_id = s.id and k.stopped_at is null),
         (select count(*)::int from public.tracks t where t.session_id = s.id),
         (select r.status from public.transcription_runs r where r.session_id = s.id order by r.created_at desc, r.id limit 1),
         exists (select 1 from public.transcripts tr where tr.session_id = s.id)
    from public.memberships m
    join public.organizations o on o.id = m.organization_id
    join public.recording_sessions s on s.organization_id = m.organization_id
   where m.user_id = app.current_user_id() and s.deleted_at is null and s.key_erased_at is null
   order by s.created_at desc, s.id desc
   limit least(greatest(p_limit, 1), 200)
$$;
revoke execute on function app.my_home_sessions(int) from public, recorder_sfu, recorder_jobs, recorder_sweep;
grant execute on function app.my_home_sessions(int) to recorder_app;
