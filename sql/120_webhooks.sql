-- Signed webhooks: RLS of the three tables, the triggers that put events in the outbox in
-- the very transaction where the work happens (whoever does it: the API, the SFU, the job
-- worker, a sweep), and the narrow functions through which the job worker delivers them.
--
-- Delivery order: each endpoint has one graphile-worker queue (`webhook:<endpoint id>`,
-- also the job key), so at most one job per endpoint runs at a time, and it always sends
-- the oldest pending delivery first; a failed head is retried (after a back-off the worker
-- chooses) before anything behind it. The webhook-id of a delivery (event_id) never changes.
--
-- Runs after sql/099_duties.sql (which first revokes EXECUTE on everything): the grants of
-- these functions are at the end of this file.

select app.enforce_tenant_rls('webhook_endpoints', 'webhook_deliveries', 'webhook_attempts');

-- Owners and admins manage endpoints and read the delivery log; the API may add only test
-- events to the outbox (every other event is written by the triggers below).
drop policy if exists webhook_endpoints_all on webhook_endpoints;
create policy webhook_endpoints_all on webhook_endpoints for all
  using (organization_id = (select app.admin_org_id()))
  with check (organization_id = (select app.admin_org_id()));
drop policy if exists webhook_deliveries_select on webhook_deliveries;
create policy webhook_deliveries_select on webhook_deliveries for select
  using (organization_id = (select app.admin_org_id()));
drop policy if exists webhook_deliveries_insert on webhook_deliveries;
create policy webhook_deliveries_insert on webhook_deliveries for insert
  with check (organization_id = (select app.admin_org_id()) and event_type = 'webhook.test' and state = 'pending' and attempts = 0
              and exists (select 1 from public.webhook_endpoints e where e.id = endpoint_id and e.organization_id = webhook_deliveries.organization_id));
drop policy if exists webhook_attempts_select on webhook_attempts;
create policy webhook_attempts_select on webhook_attempts for select
  using (organization_id = (select app.admin_org_id()));

grant select, insert, update, delete on webhook_endpoints to recorder_app;
grant select, insert on webhook_deliveries to recorder_app;
grant select on webhook_attempts to recorder_app;

-- What an API key registers names no person (sql/110_api_keys.sql; the audit entry names the key).
drop trigger if exists attribute_to_api_key on webhook_endpoints;
create trigger attribute_to_api_key before insert on webhook_endpoints
  for each row execute function app.attribute_to_api_key('created_by');

-- Internal: (re)schedules the endpoint's delivery job p_delay_ms from now (its one job: the job key
-- replaces a waiting one; the queue name keeps a second from running beside a running one).
-- Only where the queue's schema exists (the jobs process migrates it; until then deliveries
-- wait as pending and app.webhook_reconcile_jobs() adds their jobs).
create or replace function app.webhook_add_job(p_endpoint uuid, p_org uuid, p_delay_ms bigint) returns void
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
begin
  if to_regnamespace('graphile_worker') is not null then
    execute 'select graphile_worker.add_job($1, $2::json, queue_name := $3, run_at := $4, max_attempts := 25, job_key := $3)'
      using 'webhook', json_build_object('endpoint_id', p_endpoint, 'organization_id', p_org)::text, 'webhook:' || p_endpoint,
            now() + make_interval(secs => greatest(0, p_delay_ms) / 1000.0);
  end if;
end $$;

-- Internal (triggers): one outbox row per enabled endpoint of p_org subscribed to p_type.
-- p_dedup: at most one delivery per endpoint with this key (an event that could be seen twice).
create or replace function app.webhook_emit(p_org uuid, p_type text, p_data jsonb, p_dedup text) returns void
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
begin
  -- An org being deleted (its rows going by cascade) says nothing more.
  if not exists (select 1 from public.organizations where id = p_org) then return; end if;
  insert into public.webhook_deliveries (organization_id, endpoint_id, event_type, dedup_key, payload)
    select p_org, e.id, p_type, p_dedup, p_data from public.webhook_endpoints e
     where e.organization_id = p_org and e.enabled and p_type = any (e.events)
     order by e.created_at
    on conflict do nothing;
end $$;

-- Every new pending delivery wakes its endpoint's job.
create or replace function app.webhook_on_delivery() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  perform app.webhook_add_job(new.endpoint_id, new.organization_id, 0);
  return null;
end $$;
drop trigger if exists webhook_deliveries_schedule on public.webhook_deliveries;
create trigger webhook_deliveries_schedule after insert on public.webhook_deliveries
  for each row when (new.state = 'pending') execute function app.webhook_on_delivery();

-- An endpoint enabled again delivers what waited.
create or replace function app.webhook_on_endpoint_enabled() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if new.enabled and not old.enabled then
    perform app.webhook_add_job(new.id, new.organization_id, 0);
  end if;
  return null;
end $$;
drop trigger if exists webhook_endpoints_enabled on public.webhook_endpoints;
create trigger webhook_endpoints_enabled after update of enabled on public.webhook_endpoints
  for each row execute function app.webhook_on_endpoint_enabled();

-- recording.ready: the session ended and every one of its tracks is closed (its last chunk
-- sealed), so each is downloadable. Called when a session ends and when a track closes; the
-- session row is locked so that the last two of these, in concurrent transactions, cannot
-- each miss the other. Once per session and endpoint (the dedup key).
create or replace function app.webhook_recording_ready(p_session uuid) returns void
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions;
begin
  select * into v from public.recording_sessions where id = p_session for no key update;
  if not found or v.status <> 'ended' or v.key_erased_at is not null or v.deleted_at is not null then return; end if;
  if exists (select 1 from public.tracks where session_id = v.id and ended_at is null) then return; end if;
  perform app.webhook_emit(v.organization_id, 'recording.ready',
    jsonb_build_object('session_id', v.id,
      'tracks', coalesce((select jsonb_agg(jsonb_build_object('id', t.id, 'kind', t.kind, 'participant_id', t.participant_id) order by t.started_at)
                            from public.tracks t where t.session_id = v.id), '[]'::jsonb)),
    'recording.ready:' || v.id);
end $$;

create or replace function app.webhook_on_session_status() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if old.status = 'open' and new.status = 'ended' and new.key_erased_at is null and new.deleted_at is null then
    perform app.webhook_emit(new.organization_id, 'session.ended', jsonb_build_object('session_id', new.id), 'session.ended:' || new.id);
    perform app.webhook_recording_ready(new.id);
  end if;
  return null;
end $$;
drop trigger if exists recording_sessions_webhooks on public.recording_sessions;
create trigger recording_sessions_webhooks after update of status on public.recording_sessions
  for each row execute function app.webhook_on_session_status();

create or replace function app.webhook_on_track_closed() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if old.ended_at is null and new.ended_at is not null then
    perform app.webhook_recording_ready(new.session_id);
  end if;
  return null;
end $$;
drop trigger if exists tracks_webhooks on public.tracks;
create trigger tracks_webhooks after update of ended_at on public.tracks
  for each row execute function app.webhook_on_track_closed();

create or replace function app.webhook_on_transcription() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if new.status is distinct from old.status and new.status = 'done' then
    perform app.webhook_emit(new.organization_id, 'transcript.ready',
      jsonb_build_object('session_id', new.session_id, 'transcription_run_id', new.id), 'transcript:' || new.id);
  elsif new.status is distinct from old.status and new.status = 'failed' then
    perform app.webhook_emit(new.organization_id, 'transcript.failed',
      jsonb_build_object('session_id', new.session_id, 'transcription_run_id', new.id, 'error_code', new.error_code), 'transcript:' || new.id);
  end if;
  return null;
end $$;
drop trigger if exists transcription_runs_webhooks on public.transcription_runs;
create trigger transcription_runs_webhooks after update of status on public.transcription_runs
  for each row execute function app.webhook_on_transcription();

create or replace function app.webhook_on_export() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if new.status = 'done' and old.status is distinct from 'done' then
    perform app.webhook_emit(new.organization_id, 'export.ready',
      jsonb_build_object('export_id', new.id, 'size_bytes', new.size_bytes, 'expires_at', new.expires_at), 'export.ready:' || new.id);
  end if;
  return null;
end $$;
drop trigger if exists export_jobs_webhooks on public.export_jobs;
create trigger export_jobs_webhooks after update of status on public.export_jobs
  for each row execute function app.webhook_on_export();

create or replace function app.webhook_on_membership() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if tg_op = 'INSERT' then
    perform app.webhook_emit(new.organization_id, 'member.added', jsonb_build_object('user_id', new.user_id, 'role', new.role), null);
  elsif tg_op = 'DELETE' then
    perform app.webhook_emit(old.organization_id, 'member.removed', jsonb_build_object('user_id', old.user_id, 'role', old.role), null);
  end if;
  return null;
end $$;
drop trigger if exists memberships_webhooks on public.memberships;
create trigger memberships_webhooks after insert or delete on public.memberships
  for each row execute function app.webhook_on_membership();

-- Jobs: the endpoint's next delivery to send, with what signing needs, or nothing (no
-- endpoint in the current org, disabled, nothing pending, or the head waits for its retry:
-- then the job is scheduled for that time).
create or replace function app.webhook_next(p_endpoint uuid)
  returns table (delivery_id bigint, event_id text, event_type text, payload jsonb, created_at timestamptz, attempts int,
                 url text, wrapped_key jsonb, secret_sealed bytea, previous_secret_sealed bytea)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare e public.webhook_endpoints; d public.webhook_deliveries; v_now timestamptz := app.now();
begin
  select * into e from public.webhook_endpoints w where w.id = p_endpoint and w.organization_id = app.current_org_id();
  if not found or not e.enabled then return; end if;
  select * into d from public.webhook_deliveries w where w.endpoint_id = e.id and w.state = 'pending' order by w.id limit 1;
  if not found then return; end if;
  if d.next_attempt_at > v_now then
    perform app.webhook_add_job(e.id, e.organization_id, ceil(extract(epoch from d.next_attempt_at - v_now) * 1000)::bigint);
    return;
  end if;
  return query select d.id, d.event_id, d.event_type, d.payload, d.created_at, d.attempts, e.url, e.wrapped_key, e.secret_sealed,
    case when e.previous_secret_expires_at > v_now then e.previous_secret_sealed end;
end $$;

-- Jobs: the outcome of one attempt at the head delivery. Delivered; or retried after
-- p_retry_ms (the back-off the worker computed); or, after p_max_attempts, failed, with the
-- endpoint disabled (returns true: the worker tells the admins). Times from app.now().
create or replace function app.webhook_record_attempt(p_delivery bigint, p_attempt int, p_status int, p_latency_ms int, p_error text,
    p_ok boolean, p_retry_ms int, p_max_attempts int)
  returns boolean
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare d public.webhook_deliveries; v_now timestamptz := app.now(); v_n int;
begin
  select * into d from public.webhook_deliveries w where w.id = p_delivery and w.organization_id = app.current_org_id() for update;
  if not found then raise exception 'not_found: no such delivery'; end if;
  -- Only the attempt the worker was handed counts (a duplicate run changes nothing).
  if d.state <> 'pending' or d.attempts + 1 <> p_attempt then return false; end if;
  v_n := d.attempts + 1;
  insert into public.webhook_attempts (organization_id, delivery_id, attempt, at, status, latency_ms, error)
    values (d.organization_id, d.id, v_n, v_now, p_status, greatest(0, p_latency_ms), left(p_error, 300));
  if p_ok then
    update public.webhook_deliveries set state = 'delivered', attempts = v_n, finished_at = v_now, last_attempt_at = v_now,
           last_status = p_status, last_latency_ms = p_latency_ms, last_error = null where id = d.id;
    return false;
  end if;
  if v_n >= p_max_attempts then
    update public.webhook_deliveries set state = 'failed', attempts = v_n, finished_at = v_now, last_attempt_at = v_now,
           last_status = p_status, last_latency_ms = p_latency_ms, last_error = left(p_error, 300) where id = d.id;
    update public.webhook_endpoints set enabled = false, disabled_reason = 'failing', updated_at = v_now where id = d.endpoint_id and enabled;
    return found;
  end if;
  update public.webhook_deliveries set attempts = v_n, last_attempt_at = v_now, last_status = p_status, last_latency_ms = p_latency_ms,
         last_error = left(p_error, 300), next_attempt_at = v_now + make_interval(secs => greatest(0, p_retry_ms) / 1000.0) where id = d.id;
  perform app.webhook_add_job(d.endpoint_id, d.organization_id, p_retry_ms);
  return false;
end $$;

-- Jobs: whom to tell that an endpoint of the current org was disabled (its owners and admins).
create or replace function app.webhook_admin_emails(p_endpoint uuid) returns table (email text, url text)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select u.email::text, e.url from public.webhook_endpoints e
    join public.memberships m on m.organization_id = e.organization_id and m.role in ('owner', 'admin')
    join public.users u on u.id = m.user_id
   where e.id = p_endpoint and e.organization_id = app.current_org_id() and u.deletion_requested_at is null
   order by u.email
$$;

-- Owner (jobs process, at start and with its periodic maintenance): endpoints with pending
-- deliveries but no live job (none yet, or one the queue gave up on after its own retries of
-- a worker failure) get one.
create or replace function app.webhook_reconcile_jobs() returns int
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare r record; n int := 0;
begin
  if to_regnamespace('graphile_worker') is null then return 0; end if;
  for r in
    execute 'select distinct e.id, e.organization_id from public.webhook_endpoints e
               join public.webhook_deliveries d on d.endpoint_id = e.id and d.state = ''pending''
              where e.enabled and not exists (select 1 from graphile_worker.jobs j
                                               where j.key = ''webhook:'' || e.id and j.attempts < j.max_attempts)'
  loop
    perform app.webhook_add_job(r.id, r.organization_id, 0);
    n := n + 1;
  end loop;
  return n;
end $$;

-- Owner (`npm run keys:rotate`, beside app.rotation_* of sql/070_lifecycle.sql): the endpoints'
-- wrapped data keys are re-wrapped with the sessions' keys, so no KEK or KMS key is retired
-- while a signing secret still depends on it.
create or replace function app.webhook_rotation_batch(p_after uuid, p_limit int, p_org uuid, p_provider text, p_target_key text, p_from_key text)
  returns table (endpoint_id uuid, organization_id uuid, wrapped_key jsonb)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select e.id, e.organization_id, e.wrapped_key from public.webhook_endpoints e
   where e.id > coalesce(p_after, '00000000-0000-0000-0000-000000000000'::uuid)
     and (p_org is null or e.organization_id = p_org)
     and e.wrapped_key ->> 'provider' = p_provider
     and (p_target_key is null or not (e.wrapped_key ->> 'keyId' = p_target_key or e.wrapped_key ->> 'keyId' like '%:key/' || p_target_key))
     and (p_from_key is null or e.wrapped_key ->> 'keyId' = p_from_key or e.wrapped_key ->> 'keyId' like '%:key/' || p_from_key)
   order by e.id limit p_limit
$$;

create or replace function app.webhook_rotation_store(p_endpoint uuid, p_old jsonb, p_new jsonb) returns boolean
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
begin
  update public.webhook_endpoints set wrapped_key = p_new where id = p_endpoint and wrapped_key = p_old;
  return found;
end $$;

create or replace function app.webhook_key_usage()
  returns table (provider text, key_id text, endpoints bigint)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select wrapped_key ->> 'provider', wrapped_key ->> 'keyId', count(*) from public.webhook_endpoints group by 1, 2 order by 1, 2
$$;

-- Sweep (the lifecycle sweep, every org): the delivery log keeps finished deliveries (and
-- their attempts) for 30 days; pending ones stay however old they are.
create or replace function app.webhook_prune_log() returns int
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare n int;
begin
  delete from public.webhook_deliveries where state <> 'pending' and finished_at < app.now() - interval '30 days';
  get diagnostics n = row_count;
  return n;
end $$;

revoke execute on all functions in schema app from public;
revoke execute on function app.webhook_add_job(uuid, uuid, bigint), app.webhook_emit(uuid, text, jsonb, text),
  app.webhook_recording_ready(uuid), app.webhook_next(uuid), app.webhook_record_attempt(bigint, int, int, int, text, boolean, int, int),
  app.webhook_admin_emails(uuid), app.webhook_reconcile_jobs(), app.webhook_rotation_batch(uuid, int, uuid, text, text, text),
  app.webhook_rotation_store(uuid, jsonb, jsonb), app.webhook_key_usage(), app.webhook_prune_log()
  from recorder_app, recorder_sfu, recorder_jobs, recorder_sweep;
-- Job workers deliver (sql/099_duties.sql lists the other duties; these functions are
-- created after it runs, so their grant is here).
grant execute on function app.webhook_next(uuid), app.webhook_record_attempt(bigint, int, int, int, text, boolean, int, int),
  app.webhook_admin_emails(uuid)
  to recorder_jobs;
grant execute on function app.webhook_prune_log() to recorder_sweep;
