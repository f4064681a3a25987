-- Transcription: RLS, the trigger that queues a run when a session ends, and the narrow
-- security-definer functions through which the API re-runs and the job worker claims,
-- reads, reports on and finishes a run. Worker functions check that the run belongs to
-- app.current_org_id(), which the worker sets from the job's payload (written by the
-- trigger below, never by a client). Queue maintenance (lease expiry, reconciling runs
-- with the queue) runs as the owner: those functions are granted to nobody.

select app.enforce_tenant_rls('transcription_settings', 'transcription_runs', 'transcripts');
select app.members_may_read('transcription_settings', 'transcription_runs', 'transcripts');

drop policy if exists transcription_settings_insert on transcription_settings;
create policy transcription_settings_insert on transcription_settings for insert
  with check (organization_id = (select app.admin_org_id()));
drop policy if exists transcription_settings_update on transcription_settings;
create policy transcription_settings_update on transcription_settings for update
  using (organization_id = (select app.admin_org_id()))
  with check (organization_id = (select app.current_org_id()));

-- Queues a run and its job in the caller's transaction. The job is added only where the
-- queue's schema exists (the jobs process migrates it; until then runs wait as 'queued'
-- and app.transcription_reconcile_jobs() adds their jobs).
create or replace function app.transcription_enqueue(p_org uuid, p_session uuid, p_reason text, p_user uuid, p_language text, p_max_attempts int default 5)
  returns uuid
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v_id uuid;
begin
  insert into public.transcription_runs (organization_id, session_id, reason, requested_by, language)
    values (p_org, p_session, p_reason, p_user, p_language)
    on conflict (session_id) where status in ('queued', 'running') do nothing
    returning id into v_id;
  if v_id is null then raise exception 'transcription_in_progress: this session is already being transcribed'; end if;
  if to_regnamespace('graphile_worker') is not null then
    execute 'select graphile_worker.add_job($1, $2::json, max_attempts := $3, job_key := $4)'
      using 'transcribe', json_build_object('run_id', v_id, 'organization_id', p_org)::text, p_max_attempts, 'transcribe:' || v_id;
  end if;
  return v_id;
end $$;

-- A session that ends (SFU: app.sfu_end_session) is transcribed when its org wants that.
create or replace function app.transcription_on_session_end() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
declare v_auto boolean := true; v_language text := 'auto';
begin
  if old.status = 'open' and new.status = 'ended' and new.key_erased_at is null and new.deleted_at is null then
    select s.auto, s.language into v_auto, v_language from public.transcription_settings s where s.organization_id = new.organization_id;
    if coalesce(v_auto, true) then
      -- Ending a session never fails because of transcription (it can be re-run later).
      begin
        perform app.transcription_enqueue(new.organization_id, new.id, 'auto', null, coalesce(v_language, 'auto'));
      exception when others then
        raise warning 'transcription not queued for session %: %', new.id, sqlerrm;
      end;
    end if;
  end if;
  return null;
end $$;
drop trigger if exists recording_sessions_transcribe on public.recording_sessions;
create trigger recording_sessions_transcribe after update of status on public.recording_sessions
  for each row execute function app.transcription_on_session_end();

-- API: a member asks for a new run of an ended session, in the org's language setting.
create or replace function app.transcription_rerun(p_session uuid) returns uuid
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions; v_language text;
begin
  if not app.is_member() then raise exception 'not_found: no such session'; end if;
  select * into v from public.recording_sessions where id = p_session and organization_id = app.current_org_id() and deleted_at is null;
  if not found then raise exception 'not_found: no such session'; end if;
  if v.status <> 'ended' then raise exception 'session_open: end the session before transcribing it'; end if;
  select language into v_language from public.transcription_settings where organization_id = v.organization_id;
  return app.transcription_enqueue(v.organization_id, v.id, 'rerun', app.current_user_id(), coalesce(v_language, 'auto'));
end $$;

-- Worker: the run, in the current org, or an error.
create or replace function app.transcription_run_row(p_run uuid) returns public.transcription_runs
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
declare v public.transcription_runs;
begin
  select * into v from public.transcription_runs where id = p_run and organization_id = app.current_org_id();
  if not found then raise exception 'not_found: no such transcription run'; end if;
  return v;
end $$;

-- Worker: takes the run under a lease. Returns the attempt number (the fencing token every
-- later call passes), or null when the run needs no more work (done, failed, or held by a
-- live lease elsewhere).
create or replace function app.transcription_claim(p_run uuid, p_worker text, p_lease_s int)
  returns table (attempt int, session_id uuid, language text)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.transcription_runs := app.transcription_run_row(p_run);
begin
  return query
    update public.transcription_runs r set status = 'running', attempts = r.attempts + 1, worker_id = p_worker, stage = 'decode', progress = 0,
           lease_expires_at = now() + make_interval(secs => p_lease_s), started_at = coalesce(r.started_at, now()), error_code = null, error_message = null
     where r.id = v.id and (r.status = 'queued' or (r.status = 'running' and (r.lease_expires_at < now() or r.worker_id = p_worker)))
    returning r.attempts, r.session_id, r.language;
end $$;

-- Worker: what to transcribe: the session's wrapped key and its audio tracks.
create or replace function app.transcription_source(p_run uuid)
  returns table (wrapped_key jsonb, session_status text, track_id uuid, participant_id uuid, display_name text, take_seq int, take_started_at timestamptz,
                 started_at timestamptz, ended_at timestamptz, mime_type text, payload_type int, clock_rate int)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select s.wrapped_key, s.status, t.id, t.participant_id, p.display_name, k.seq, k.started_at, t.started_at, t.ended_at, t.mime_type, t.payload_type, t.clock_rate
    from app.transcription_run_row(p_run) r
    join public.recording_sessions s on s.id = r.session_id and s.deleted_at is null
    left join public.tracks t on t.session_id = s.id and t.kind = 'audio'
    left join public.recording_takes k on k.id = t.take_id
    left join public.participants p on p.id = t.participant_id
   order by k.seq, t.started_at
$$;

create or replace function app.transcription_chunks(p_run uuid, p_track uuid)
  returns table (seq int, object_key text)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select c.seq, c.object_key from app.transcription_run_row(p_run) r
    join public.tracks t on t.session_id = r.session_id and t.id = p_track
    join public.chunks c on c.track_id = t.id
   order by c.seq
$$;

-- Worker: progress and lease renewal; false when the lease was lost (another attempt owns the run).
create or replace function app.transcription_heartbeat(p_run uuid, p_worker text, p_attempt int, p_lease_s int, p_stage text, p_progress real)
  returns boolean
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.transcription_runs := app.transcription_run_row(p_run);
begin
  update public.transcription_runs set lease_expires_at = now() + make_interval(secs => p_lease_s), stage = coalesce(p_stage, stage),
         progress = greatest(0, least(1, coalesce(p_progress, progress)))
   where id = v.id and status = 'running' and worker_id = p_worker and attempts = p_attempt;
  return found;
end $$;

-- Worker: records the transcript (at most one per run) and marks the run done. Returns
-- false when the run already has one (another attempt finished first): the caller removes
-- its own object.
create or replace function app.transcription_finish(p_run uuid, p_attempt int, p_object_key text, p_model text, p_device text, p_language text,
    p_segments int, p_speakers int, p_audio_s real, p_speech_s real)
  returns boolean
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.transcription_runs := app.transcription_run_row(p_run);
begin
  if p_object_key not like 'orgs/' || v.organization_id || '/sessions/' || v.session_id || '/transcripts/%' then
    raise exception 'invalid_input: transcripts live under their session''s prefix';
  end if;
  if not exists (select 1 from public.recording_sessions where id = v.session_id and key_erased_at is null and deleted_at is null) then
    raise exception 'recording_erased: the recording was deleted';
  end if;
  insert into public.transcripts (run_id, organization_id, session_id, object_key, model, language, segment_count, speaker_count, audio_seconds, speech_seconds)
    values (v.id, v.organization_id, v.session_id, p_object_key, p_model, p_language, p_segments, p_speakers, p_audio_s, p_speech_s)
    on conflict (run_id) do nothing;
  if not found then return false; end if;
  update public.transcription_runs set status = 'done', stage = null, progress = 1, finished_at = now(), worker_id = null, lease_expires_at = null,
         model = p_model, device = p_device, error_code = null, error_message = null
   where id = v.id;
  return true;
end $$;

-- Worker: an attempt failed. Final: the run fails with the reason; otherwise it waits for
-- the queue's retry. Only the attempt holding the run may say so.
create or replace function app.transcription_fail(p_run uuid, p_worker text, p_attempt int, p_code text, p_message text, p_final boolean)
  returns void
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.transcription_runs := app.transcription_run_row(p_run);
begin
  update public.transcription_runs
     set status = case when p_final then 'failed' else 'queued' end, error_code = p_code, error_message = left(p_message, 500),
         finished_at = case when p_final then now() end, worker_id = null, lease_expires_at = null, stage = case when p_final then stage end
   where id = v.id and status in ('queued', 'running') and (worker_id is null or (worker_id = p_worker and attempts = p_attempt));
end $$;

-- Owner (jobs process): runs whose worker stopped renewing its lease (killed, pre-empted)
-- go back to the queue: their jobs are unlocked so another worker retries them. A run
-- whose job has no attempts left fails. Returns how many runs were handed back.
create or replace function app.transcription_requeue_expired(p_live_workers text[]) returns int
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v_workers text[]; n int;
begin
  -- p_live_workers: the caller's own workers, alive by definition (a busy event loop may
  -- have delayed their renewal; they renew as soon as it frees up).
  with expired as (
    select id, worker_id from public.transcription_runs
     where status = 'running' and lease_expires_at < now() and not (worker_id = any(coalesce(p_live_workers, '{}')))
     for update skip locked
  ), requeued as (
    update public.transcription_runs r set status = 'queued', worker_id = null, lease_expires_at = null, error_code = 'lease_expired',
           error_message = 'the worker stopped; retrying'
      from expired e where r.id = e.id returning e.worker_id
  ) select array_agg(distinct worker_id), count(*)::int into v_workers, n from requeued;
  if n > 0 and to_regnamespace('graphile_worker') is not null then
    execute 'select graphile_worker.force_unlock_workers($1)' using v_workers;
  end if;
  return coalesce(n, 0);
end $$;

-- Owner (jobs process): queued runs without a job (queued before the queue's schema
-- existed) get one; queued runs whose job is gone or out of attempts fail.
create or replace function app.transcription_reconcile_jobs(p_max_attempts int) returns int
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare r record; n int := 0;
begin
  if to_regnamespace('graphile_worker') is null then return 0; end if;
  for r in
    execute 'select t.id, t.organization_id, j.id as job_id, j.attempts, j.max_attempts, j.locked_at
               from public.transcription_runs t left join graphile_worker.jobs j on j.key = ''transcribe:'' || t.id
              where t.status = ''queued'' and (j.id is null or (j.locked_at is null and j.attempts >= j.max_attempts))'
  loop
    if r.job_id is null then
      execute 'select graphile_worker.add_job($1, $2::json, max_attempts := $3, job_key := $4)'
        using 'transcribe', json_build_object('run_id', r.id, 'organization_id', r.organization_id)::text, p_max_attempts, 'transcribe:' || r.id;
    else
      update public.transcription_runs set status = 'failed', finished_at = now(), error_code = 'too_many_attempts',
             error_message = 'transcription failed after every retry' where id = r.id;
    end if;
    n := n + 1;
  end loop;
  return n;
end $$;

-- Sweep (admin path): transcripts of erased sessions, whose objects the media sweep removed.
create or replace function app.erased_transcripts_pending_sweep(p_limit int)
  returns table (organization_id uuid, session_id uuid)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select s.organization_id, s.id from public.recording_sessions s
   where s.key_erased_at is not null and exists (select 1 from public.transcription_runs r where r.session_id = s.id)
   order by s.key_erased_at limit p_limit
$$;

create or replace function app.sweep_session_transcripts(p_session uuid) returns int
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare n int;
begin
  if not exists (select 1 from public.recording_sessions where id = p_session and key_erased_at is not null) then
    raise exception 'not_found: no erased session';
  end if;
  delete from public.transcription_runs where session_id = p_session;
  get diagnostics n = row_count;
  return n;
end $$;

grant select on transcription_runs, transcripts to recorder_app;
grant select, insert, update on transcription_settings to recorder_app;
revoke execute on all functions in schema app from public;
-- Function grants, by duty: sql/099_duties.sql.
