-- The studio: consent stored with each participant, guests rejoining as the same
-- participant, what a guest sees before joining, and the recovery of sessions a crashed
-- SFU process left recording.

select app.enforce_tenant_rls('participant_consents');
select app.members_may_read('participant_consents');
-- Written only through the functions below (no insert policy: the API role cannot forge one).

-- Records a participant's consent once (the first time wins), with a timeline event and
-- an audit entry. Internal: called by guest_join_studio and host_record_consent only.
create or replace function app.record_consent(p_participant uuid, p_version text) returns void
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare p public.participants;
begin
  select * into p from public.participants where id = p_participant;
  if not found then raise exception 'not_found: no such participant'; end if;
  insert into public.participant_consents (participant_id, organization_id, session_id, text_version, consented_at)
    values (p.id, p.organization_id, p.session_id, p_version, app.now()) on conflict (participant_id) do nothing;
  if found then
    insert into public.session_events (organization_id, session_id, kind, participant_id, details)
      values (p.organization_id, p.session_id, 'consent.given', p.id, jsonb_build_object('text_version', p_version));
    insert into public.audit_log (organization_id, actor_user_id, action, details)
      values (p.organization_id, p.user_id, 'participant.consented',
              jsonb_build_object('session_id', p.session_id, 'participant_id', p.id, 'role', p.role,
                                 'display_name', p.display_name, 'text_version', p_version));
  end if;
end $$;

-- A member records their own consent as a host participant of a session of the current org.
create or replace function app.host_record_consent(p_participant uuid, p_version text) returns void
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
begin
  perform 1 from public.participants p
   where p.id = p_participant and p.organization_id = app.current_org_id() and p.user_id = app.current_user_id();
  if not found then raise exception 'not_found: no such participant'; end if;
  perform app.record_consent(p_participant, p_version);
end $$;

-- Guest join by link, with consent and rejoin: `p_rejoin` (a participant id the API took
-- from a rejoin secret it signed) returns that same guest participant instead of a new one.
create or replace function app.guest_join_studio(p_session uuid, p_token_hash bytea, p_name text, p_consent text, p_rejoin uuid)
  returns table (participant_id uuid, organization_id uuid, session_title text, organization_name text, consent_version text)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions; v_pid uuid;
begin
  select * into v from public.recording_sessions s where s.id = p_session and s.guest_token_hash = p_token_hash;
  if not found or v.deleted_at is not null then raise exception 'invalid_link: this guest link is not valid'; end if;
  if v.status <> 'open' then raise exception 'session_ended: this session has ended'; end if;
  if p_rejoin is not null then
    select p.id into v_pid from public.participants p where p.id = p_rejoin and p.session_id = v.id and p.role = 'guest';
    if not found then raise exception 'invalid_rejoin: this rejoin secret is not for this session'; end if;
  else
    insert into public.participants (organization_id, session_id, display_name, role)
      values (v.organization_id, v.id, p_name, 'guest') returning id into v_pid;
  end if;
  if p_consent is not null then perform app.record_consent(v_pid, p_consent); end if;
  return query select v_pid, v.organization_id, v.title, o.name,
    (select c.text_version from public.participant_consents c where c.participant_id = v_pid)
    from public.organizations o where o.id = v.organization_id;
end $$;

-- A participant who rejoined during a take goes on recording into the same track: it is
-- open again, fed by the new producer; chunks continue its sequence (the gap stays a gap).
create or replace function app.sfu_resume_track(p_session uuid, p_track uuid, p_producer text) returns void
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions := app.sfu_session_row(p_session); v_pid uuid;
begin
  update public.tracks set ended_at = null, producer_id = p_producer
   where id = p_track and session_id = v.id returning participant_id into v_pid;
  if not found then raise exception 'not_found: no such track'; end if;
  perform app.sfu_event(p_session, 'track.resumed', v_pid, p_track, '{}'::jsonb);
end $$;

-- What a guest holding the link sees before joining: the session and who records it.
create or replace function app.guest_session_info(p_session uuid, p_token_hash bytea)
  returns table (session_title text, organization_name text, status text)
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
begin
  return query select s.title, o.name, s.status from public.recording_sessions s
    join public.organizations o on o.id = s.organization_id
   where s.id = p_session and s.guest_token_hash = p_token_hash and s.deleted_at is null;
  if not found then raise exception 'invalid_link: this guest link is not valid'; end if;
end $$;

-- SFU duty (run by an SFU process at start-up, before any browser joins): sessions whose take was
-- still recording when an SFU process died. Each open take, its tracks and its present
-- participants close at the last sealed chunk; the session is marked interrupted, with a
-- timeline event, and stays open for its participants to reconnect (the SFU resumes the
-- recording when the host is back, or ends the session after a grace period, which queues
-- its transcript). Returns what it recovered.
create or replace function app.recover_interrupted_sessions()
  returns table (session_id uuid, organization_id uuid, take_seq int, recovered_to timestamptz)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare t record; v_last timestamptz; v_done uuid[] := '{}';
begin
  for t in select k.id, k.session_id, k.organization_id, k.seq, k.started_at from public.recording_takes k
             join public.recording_sessions s on s.id = k.session_id
            where k.stopped_at is null and s.status = 'open' for update of k loop
    select coalesce(max(c.last_arrival_at), t.started_at) into v_last
      from public.chunks c join public.tracks tr on tr.id = c.track_id where tr.take_id = t.id;
    update public.tracks tr set ended_at = coalesce(
        (select max(c.last_arrival_at) from public.chunks c where c.track_id = tr.id), tr.started_at)
     where tr.take_id = t.id and tr.ended_at is null;
    update public.recording_takes set stopped_at = v_last where id = t.id;
    update public.participants p set left_at = greatest(p.joined_at, v_last)
     where p.session_id = t.session_id and p.joined_at is not null and p.left_at is null;
    update public.recording_sessions s set interrupted_at = app.now() where s.id = t.session_id;
    insert into public.session_events (organization_id, session_id, kind, details)
      values (t.organization_id, t.session_id, 'session.interrupted',
              jsonb_build_object('take', t.seq, 'recovered_to', v_last,
                                 'note', 'the media server stopped while recording; media after recovered_to was not sealed and is lost'));
    session_id := t.session_id; organization_id := t.organization_id; take_seq := t.seq; recovered_to := v_last;
    v_done := v_done || t.session_id;
    return next;
  end loop;
  -- Interrupted earlier and still waiting for their participants (this process died during
  -- the grace period too): the caller schedules their end again.
  return query select s.id, s.organization_id, null::int, null::timestamptz from public.recording_sessions s
   where s.status = 'open' and s.interrupted_at is not null and s.deleted_at is null and not (s.id = any (v_done));
end $$;

-- Who may execute these: sql/099_duties.sql (the whole list). The request path runs
-- guest_join_studio, guest_session_info (holders of a guest link) and host_record_consent
-- (the proven user); the SFU role runs sfu_resume_track and recover_interrupted_sessions.
grant select on participant_consents to recorder_app;
