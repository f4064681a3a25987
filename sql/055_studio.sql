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

-- Recovering what a dead SFU process left recording is app.fleet_recover_node (sql/130_fleet.sql),
-- per node; the single-SFU app.recover_interrupted_sessions it replaced goes from databases
-- that still have it.
drop function if exists app.recover_interrupted_sessions();

-- Who may execute these: sql/099_duties.sql (the whole list). The request path runs
-- guest_join_studio, guest_session_info (holders of a guest link) and host_record_consent
-- (the proven user); the SFU role runs sfu_resume_track.
grant select on participant_consents to recorder_app;
