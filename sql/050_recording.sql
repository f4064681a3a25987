-- Recording sessions: RLS, and the narrow security-definer functions through which guests
-- join and the SFU writes captured media metadata. Every function checks that the session
-- belongs to app.current_org_id(), which the SFU sets from the API-signed join token.

select app.enforce_tenant_rls('recording_sessions', 'participants', 'recording_takes', 'tracks', 'chunks', 'session_events');
select app.members_may_read('recording_sessions', 'participants', 'recording_takes', 'tracks', 'chunks', 'session_events');

-- Members create and manage sessions; participants are added by members (hosts) through
-- the API. Takes, tracks, chunks and events are written only by the SFU functions below.
drop policy if exists recording_sessions_insert on recording_sessions;
create policy recording_sessions_insert on recording_sessions for insert
  with check (organization_id = (select app.member_org_id()));
drop policy if exists recording_sessions_update on recording_sessions;
create policy recording_sessions_update on recording_sessions for update
  using (organization_id = (select app.member_org_id()))
  with check (organization_id = (select app.current_org_id()));
drop policy if exists participants_insert on participants;
create policy participants_insert on participants for insert
  with check (organization_id = (select app.member_org_id()));
drop policy if exists session_events_insert on session_events;
create policy session_events_insert on session_events for insert
  with check (organization_id = (select app.member_org_id()));

-- The session row for the SFU, or an error when it is not in the current org.
create or replace function app.sfu_session_row(p_session uuid) returns public.recording_sessions
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions;
begin
  select * into v from public.recording_sessions where id = p_session and organization_id = app.current_org_id();
  if not found then raise exception 'not_found: no such session'; end if;
  return v;
end $$;

-- Guest join by link: checks the link's token, adds a guest participant.
create or replace function app.guest_join(p_session uuid, p_token_hash bytea, p_name text)
  returns table (participant_id uuid, organization_id uuid, session_title text)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions; v_pid uuid;
begin
  select * into v from public.recording_sessions s where s.id = p_session and s.guest_token_hash = p_token_hash;
  if not found or v.deleted_at is not null then raise exception 'invalid_link: this guest link is not valid'; end if;
  if v.status <> 'open' then raise exception 'session_ended: this session has ended'; end if;
  insert into public.participants (organization_id, session_id, display_name, role)
    values (v.organization_id, v.id, p_name, 'guest') returning id into v_pid;
  return query select v_pid, v.organization_id, v.title;
end $$;

create or replace function app.sfu_session(p_session uuid)
  returns table (status text, wrapped_key jsonb, key_erased_at timestamptz, deleted_at timestamptz)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select s.status, s.wrapped_key, s.key_erased_at, s.deleted_at from app.sfu_session_row(p_session) s
$$;

create or replace function app.sfu_event(p_session uuid, p_kind text, p_participant uuid, p_track uuid, p_details jsonb) returns void
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions := app.sfu_session_row(p_session);
begin
  insert into public.session_events (organization_id, session_id, kind, participant_id, track_id, details)
    values (v.organization_id, v.id, p_kind, p_participant, p_track, coalesce(p_details, '{}'::jsonb));
end $$;

create or replace function app.sfu_participant_presence(p_session uuid, p_participant uuid, p_joined boolean) returns void
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions := app.sfu_session_row(p_session);
begin
  if p_joined then
    update public.participants set joined_at = coalesce(joined_at, now()), left_at = null where id = p_participant and session_id = v.id;
  else
    update public.participants set left_at = now() where id = p_participant and session_id = v.id;
  end if;
  if not found then raise exception 'not_found: no such participant'; end if;
  perform app.sfu_event(p_session, case when p_joined then 'participant.joined' else 'participant.left' end, p_participant, null, '{}'::jsonb);
end $$;

create or replace function app.sfu_start_take(p_session uuid, p_participant uuid, p_started_at timestamptz)
  returns table (take_id uuid, take_seq int)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions := app.sfu_session_row(p_session); v_id uuid; v_seq int;
begin
  if v.status <> 'open' or v.key_erased_at is not null then raise exception 'session_ended: this session has ended'; end if;
  select coalesce(max(seq), 0) + 1 into v_seq from public.recording_takes where session_id = v.id;
  insert into public.recording_takes (organization_id, session_id, seq, started_at, started_by)
    values (v.organization_id, v.id, v_seq, p_started_at, p_participant) returning id into v_id;
  perform app.sfu_event(p_session, 'recording.started', p_participant, null, jsonb_build_object('take', v_seq));
  return query select v_id, v_seq;
end $$;

create or replace function app.sfu_stop_take(p_session uuid, p_take uuid, p_participant uuid, p_stopped_at timestamptz) returns void
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions := app.sfu_session_row(p_session); v_seq int;
begin
  update public.recording_takes set stopped_at = p_stopped_at where id = p_take and session_id = v.id and stopped_at is null returning seq into v_seq;
  if found then perform app.sfu_event(p_session, 'recording.stopped', p_participant, null, jsonb_build_object('take', v_seq)); end if;
end $$;

create or replace function app.sfu_open_track(p_session uuid, p_take uuid, p_participant uuid, p_kind text, p_mime text, p_clock int, p_pt int, p_producer text, p_started_at timestamptz)
  returns uuid
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions := app.sfu_session_row(p_session); v_id uuid;
begin
  insert into public.tracks (organization_id, session_id, take_id, participant_id, kind, mime_type, clock_rate, payload_type, producer_id, started_at)
    select v.organization_id, v.id, t.id, p.id, p_kind, p_mime, p_clock, p_pt, p_producer, p_started_at
      from public.recording_takes t, public.participants p
     where t.id = p_take and t.session_id = v.id and p.id = p_participant and p.session_id = v.id
    returning id into v_id;
  if v_id is null then raise exception 'not_found: no such take or participant'; end if;
  perform app.sfu_event(p_session, 'track.started', p_participant, v_id, jsonb_build_object('kind', p_kind));
  return v_id;
end $$;

create or replace function app.sfu_add_chunk(p_session uuid, p_track uuid, p_seq int, p_object_key text, p_size int, p_sha256 bytea,
    p_packets int, p_first_arrival timestamptz, p_last_arrival timestamptz, p_first_rtp_seq int, p_last_rtp_seq int, p_first_rtp_ts bigint, p_last_rtp_ts bigint)
  returns void
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions := app.sfu_session_row(p_session);
begin
  if v.key_erased_at is not null then raise exception 'session_ended: this recording was deleted'; end if;
  insert into public.chunks (organization_id, track_id, seq, object_key, size, sha256, packet_count, first_arrival_at, last_arrival_at, first_rtp_seq, last_rtp_seq, first_rtp_ts, last_rtp_ts)
    select v.organization_id, t.id, p_seq, p_object_key, p_size, p_sha256, p_packets, p_first_arrival, p_last_arrival, p_first_rtp_seq, p_last_rtp_seq, p_first_rtp_ts, p_last_rtp_ts
      from public.tracks t where t.id = p_track and t.session_id = v.id;
  if not found then raise exception 'not_found: no such track'; end if;
  update public.tracks set chunk_count = chunk_count + 1, packet_count = packet_count + p_packets, byte_count = byte_count + p_size where id = p_track;
end $$;

create or replace function app.sfu_close_track(p_session uuid, p_track uuid, p_ended_at timestamptz, p_lost_chunks int) returns void
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions := app.sfu_session_row(p_session); v_pid uuid;
begin
  update public.tracks set ended_at = p_ended_at, lost_chunks = lost_chunks + p_lost_chunks
   where id = p_track and session_id = v.id and ended_at is null returning participant_id into v_pid;
  if found then perform app.sfu_event(p_session, 'track.ended', v_pid, p_track, jsonb_build_object('lost_chunks', p_lost_chunks)); end if;
end $$;

create or replace function app.sfu_end_session(p_session uuid, p_participant uuid) returns void
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions := app.sfu_session_row(p_session);
begin
  update public.recording_sessions set status = 'ended', ended_at = now() where id = v.id and status = 'open';
  if found then perform app.sfu_event(p_session, 'session.ended', p_participant, null, '{}'::jsonb); end if;
end $$;

grant select, insert, update on recording_sessions to recorder_app;
grant select, insert on participants to recorder_app;
grant select on recording_takes, tracks, chunks to recorder_app;
grant select, insert on session_events to recorder_app;
revoke execute on all functions in schema app from public;
-- Function grants, by duty: sql/099_duties.sql.

-- Sweep (admin path): sessions whose key was erased but whose chunks still exist, across
-- organizations, and the removal of their chunk rows once the objects are gone.
create or replace function app.erased_sessions_pending_sweep(p_limit int)
  returns table (organization_id uuid, session_id uuid)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select s.organization_id, s.id from public.recording_sessions s
   where s.key_erased_at is not null and exists (select 1 from public.tracks t where t.session_id = s.id)
   order by s.key_erased_at limit p_limit
$$;

create or replace function app.sweep_session_media(p_session uuid) returns int
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare n int;
begin
  if not exists (select 1 from public.recording_sessions where id = p_session and key_erased_at is not null) then
    raise exception 'not_found: no erased session';
  end if;
  select count(*)::int into n from public.chunks c join public.tracks t on t.id = c.track_id where t.session_id = p_session;
  delete from public.tracks where session_id = p_session;
  return n;
end $$;
-- Function grants, by duty: sql/099_duties.sql.
