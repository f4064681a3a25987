-- The SFU fleet (#15): node registry, liveness, placement by headroom, draining and
-- failover. Tables: migrations/1732400010000_sfu_fleet.sql.
--
-- Liveness has two signals. Each node holds a session-level advisory lock
-- (class 15015, key app.fleet_lock_key(id)) on its own dedicated connection for as long as
-- the process lives, and heartbeats on that connection every second. When the process dies
-- (SIGKILL included) its connection closes and Postgres drops the lock at once; when the
-- process hangs or the network parts, the heartbeat goes stale after gone_after_s. A node
-- with either signal missing is declared gone by whoever looks first (a placement, another
-- node's heartbeat): its open takes are closed at their last sealed chunk and its sessions
-- are unplaced, so the next join places them on a live node, where recording resumes.

-- RLS: members of the proven org may see where their sessions are; everything else goes
-- through the functions below.
drop policy if exists sfu_placements_members on sfu_placements;
create policy sfu_placements_members on sfu_placements for select using (organization_id = app.member_org_id());
grant select on sfu_placements to recorder_app;

-- The advisory-lock key of a node (non-negative, so pg_locks shows it as the same oid).
create or replace function app.fleet_lock_key(p_node text) returns int
  language sql immutable set search_path = pg_catalog as $$
  select hashtext(p_node) & 2147483647
$$;

-- Whether a node is alive: not gone, a fresh heartbeat, and its process holds its lock.
create or replace function app.fleet_node_alive(n public.sfu_nodes) returns boolean
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
begin
  return n.state <> 'gone'
     and n.heartbeat_at > app.now() - make_interval(secs => n.gone_after_s)
     and exists (select 1 from pg_catalog.pg_locks l
                  where l.locktype = 'advisory' and l.classid = 15015 and l.objsubid = 2
                    and l.objid = app.fleet_lock_key(n.id)::oid and l.granted
                    and l.database = (select d.oid from pg_catalog.pg_database d where d.datname = current_database()));
end $$;

-- Closes what a node left recording (its open takes, at their last sealed chunk) for the
-- sessions placed on it, marks them interrupted, and flags them to resume recording when
-- their host is back. p_unplace: the node is gone, so the sessions are unplaced too (the
-- next join places them elsewhere). Sessions with an open take and no placement at all
-- (recorded before the fleet existed) go with a node that recovers itself. Internal.
create or replace function app.fleet_recover_node(p_node text, p_unplace boolean)
  returns table (session_id uuid, organization_id uuid, take_seq int, recovered_to timestamptz)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare t record; v_last timestamptz; v_done uuid[] := '{}';
begin
  for t in select k.id, k.session_id, k.organization_id, k.seq, k.started_at from public.recording_takes k
             join public.recording_sessions s on s.id = k.session_id
             left join public.sfu_placements pl on pl.session_id = s.id
            where k.stopped_at is null and s.status = 'open'
              and (pl.node_id = p_node or (pl.session_id is null and not p_unplace))
            for update of k loop
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
              jsonb_build_object('take', t.seq, 'recovered_to', v_last, 'node', p_node,
                                 'note', 'the media server stopped while recording; media after recovered_to was not sealed and is lost'));
    insert into public.sfu_placements as pl (session_id, organization_id, node_id, resume_recording, placed_at)
      values (t.session_id, t.organization_id, case when p_unplace then null else p_node end, true, app.now())
      on conflict on constraint sfu_placements_pkey do update
        set resume_recording = true, node_id = case when p_unplace then null else pl.node_id end;
    session_id := t.session_id; organization_id := t.organization_id; take_seq := t.seq; recovered_to := v_last;
    v_done := v_done || t.session_id;
    return next;
  end loop;
  -- The node's other live sessions (not recording): unplaced when it is gone; when it
  -- recovers itself, those interrupted earlier and still waiting for their people are
  -- returned so that their end is scheduled again.
  if p_unplace then
    update public.sfu_placements pl set node_id = null where pl.node_id = p_node;
  else
    return query select s.id, s.organization_id, null::int, null::timestamptz
      from public.recording_sessions s join public.sfu_placements pl on pl.session_id = s.id
     where pl.node_id = p_node and s.status = 'open' and s.interrupted_at is not null and s.deleted_at is null
       and not (s.id = any (v_done));
  end if;
end $$;

-- Declares gone every node that is not alive, and takes over its sessions. Safe to run
-- from several places at once (rows locked, skip locked). Returns how many it declared.
create or replace function app.fleet_reap() returns int
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare c public.sfu_nodes; n public.sfu_nodes; v_count int := 0;
begin
  -- Look without locking (every heartbeat runs this); lock only a node that looks dead, and
  -- look again under the lock (another reaper may have been first, or it came back).
  for c in select * from public.sfu_nodes x where x.state <> 'gone' and not app.fleet_node_alive(x) loop
    select * into n from public.sfu_nodes x where x.id = c.id and x.state <> 'gone' for update skip locked;
    if not found or app.fleet_node_alive(n) then continue; end if;
    update public.sfu_nodes set state = 'gone', state_changed_at = app.now(), load_tracks = 0, live_sessions = 0
     where id = n.id;
    perform app.fleet_recover_node(n.id, true);
    v_count := v_count + 1;
  end loop;
  return v_count;
end $$;

-- Places a live session: the node it is on when that node is active and alive, else the
-- active, alive node with the most headroom (capacity less each open session placed on it,
-- counted at its live tracks or at least the node's per-session reservation). Placements
-- are serialised, so two joins cannot overfill a node. @raises fleet_full, session_ended.
-- Internal: callers prove who is asking first.
create or replace function app.fleet_place(p_session uuid)
  returns table (node_id text, signal_url text)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions; pl public.sfu_placements; n public.sfu_nodes;
begin
  perform app.fleet_reap();
  perform pg_catalog.pg_advisory_xact_lock(15015, 0);
  select * into v from public.recording_sessions s where s.id = p_session;
  if not found or v.deleted_at is not null then raise exception 'not_found: no such session'; end if;
  if v.status <> 'open' then raise exception 'session_ended: this session has ended'; end if;
  select * into pl from public.sfu_placements p where p.session_id = p_session;
  if found and pl.node_id is not null then
    select * into n from public.sfu_nodes x where x.id = pl.node_id;
    if n.state = 'active' and app.fleet_node_alive(n) then
      node_id := n.id; signal_url := n.signal_url; return next; return;
    end if;
    -- A draining node hands its sessions over itself (the take stopped and flushed first,
    -- within a heartbeat): until it has, nobody is sent elsewhere, or two nodes would record.
    if n.state = 'draining' and app.fleet_node_alive(n) then
      raise exception 'session_moving: this session is moving to another media server; try again in a moment';
    end if;
  end if;
  select x.* into n from public.sfu_nodes x
   where x.state = 'active' and app.fleet_node_alive(x)
     and x.capacity_tracks - coalesce((
           select sum(greatest(p.tracks, x.reserve_tracks)) from public.sfu_placements p
             join public.recording_sessions s on s.id = p.session_id
            where p.node_id = x.id and s.status = 'open' and p.session_id <> p_session), 0) >= x.reserve_tracks
   order by x.capacity_tracks - coalesce((
           select sum(greatest(p.tracks, x.reserve_tracks)) from public.sfu_placements p
             join public.recording_sessions s on s.id = p.session_id
            where p.node_id = x.id and s.status = 'open' and p.session_id <> p_session), 0) desc, x.id
   limit 1;
  if not found then raise exception 'fleet_full: every media server is full; try again shortly'; end if;
  insert into public.sfu_placements as p (session_id, organization_id, node_id, tracks, placed_at)
    values (v.id, v.organization_id, n.id, 0, app.now())
    on conflict on constraint sfu_placements_pkey do update set node_id = n.id, tracks = 0, placed_at = app.now();
  insert into public.session_events (organization_id, session_id, kind, details)
    values (v.organization_id, v.id, 'session.placed', jsonb_build_object('node', n.id));
  node_id := n.id; signal_url := n.signal_url; return next;
end $$;

-- The request path: a member of the proven org places a session of that org (host join).
create or replace function app.host_place_session(p_session uuid)
  returns table (node_id text, signal_url text)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
begin
  perform 1 from public.recording_sessions s
   where s.id = p_session and s.organization_id = app.member_org_id();
  if not found then raise exception 'not_found: no such session'; end if;
  return query select * from app.fleet_place(p_session);
end $$;

-- The request path: the holder of a session's guest link places it (guest join).
create or replace function app.guest_place_session(p_session uuid, p_token_hash bytea)
  returns table (node_id text, signal_url text)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
begin
  perform 1 from public.recording_sessions s where s.id = p_session and s.guest_token_hash = p_token_hash;
  if not found then raise exception 'invalid_link: this guest link is not valid'; end if;
  return query select * from app.fleet_place(p_session);
end $$;

-- The request path: whether any node can take a live session now (the pages say so before
-- Join). Reveals nothing but that one bit.
create or replace function app.fleet_live_available() returns boolean
  language sql stable security definer set search_path = pg_catalog, public as $$
  select exists (select 1 from public.sfu_nodes n where n.state = 'active' and app.fleet_node_alive(n))
$$;

-- Whether the calling connection holds node p_node's liveness lock (the node's own
-- dedicated connection): the proof an SFU process is the node it says it is.
create or replace function app.fleet_caller_is_node(p_node text) returns boolean
  language sql stable security definer set search_path = pg_catalog, public as $$
  select exists (select 1 from pg_catalog.pg_locks l
                  where l.locktype = 'advisory' and l.classid = 15015 and l.objsubid = 2
                    and l.objid = app.fleet_lock_key(p_node)::oid and l.pid = pg_catalog.pg_backend_pid() and l.granted
                    and l.database = (select d.oid from pg_catalog.pg_database d where d.datname = current_database()))
$$;

-- The SFU: registers (or re-registers after a restart) the node whose lock the calling
-- connection holds, active, then recovers what its previous process left recording.
create or replace function app.sfu_register_node(p_node text, p_signal_url text, p_media_address text,
    p_capacity int, p_reserve int, p_gone_after_s int)
  returns table (session_id uuid, organization_id uuid, take_seq int, recovered_to timestamptz)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
begin
  if not app.fleet_caller_is_node(p_node) then raise exception 'forbidden: take the node''s lock first'; end if;
  insert into public.sfu_nodes as n (id, signal_url, media_address, capacity_tracks, reserve_tracks, gone_after_s,
                                     state, started_at, heartbeat_at, state_changed_at)
    values (p_node, p_signal_url, p_media_address, p_capacity, p_reserve, p_gone_after_s,
            'active', app.now(), app.now(), app.now())
    on conflict (id) do update set signal_url = excluded.signal_url, media_address = excluded.media_address,
      capacity_tracks = excluded.capacity_tracks, reserve_tracks = excluded.reserve_tracks,
      gone_after_s = excluded.gone_after_s, state = 'active', started_at = app.now(), heartbeat_at = app.now(),
      state_changed_at = app.now(), load_tracks = 0, live_sessions = 0;
  return query select * from app.fleet_recover_node(p_node, false);
end $$;

-- The SFU's heartbeat (every second, on the node's own connection): reports its live
-- sessions and their track counts, reaps gone nodes, ends sessions a gone node left that
-- nobody came back to within p_grace_s, and answers the node's state and, per live
-- session, whether it must close here ('ended': ended elsewhere, e.g. the session page;
-- 'moved': placed on another node).
create or replace function app.sfu_heartbeat(p_node text, p_sessions uuid[], p_tracks int[], p_grace_s int)
  returns jsonb
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v_state text; v_close jsonb;
begin
  if not app.fleet_caller_is_node(p_node) then raise exception 'forbidden: not this node''s connection'; end if;
  update public.sfu_nodes set heartbeat_at = app.now(), load_tracks = coalesce((select sum(x) from unnest(p_tracks) x), 0),
         live_sessions = coalesce(cardinality(p_sessions), 0),
         state = case when state = 'gone' then 'active' else state end,
         state_changed_at = case when state = 'gone' then app.now() else state_changed_at end
   where id = p_node returning state into v_state;
  if not found then raise exception 'not_found: register the node first'; end if;
  update public.sfu_placements p set tracks = x.tracks
    from unnest(p_sessions, p_tracks) as x(session_id, tracks)
   where p.session_id = x.session_id and p.node_id = p_node;
  -- Draining: sessions placed here without a live room here (nobody joined yet, or everyone
  -- left) are handed back at once; those with a room are handed back by the node itself.
  if v_state = 'draining' then
    update public.sfu_placements p set node_id = null
     where p.node_id = p_node and not (p.session_id = any (coalesce(p_sessions, '{}')));
  end if;
  perform app.fleet_reap();
  -- Interrupted sessions left unplaced past the grace period: ended (their transcript queues).
  with abandoned as (
    update public.recording_sessions s set status = 'ended', ended_at = now()
      from public.sfu_placements p
     where p.session_id = s.id and p.node_id is null and s.status = 'open' and s.interrupted_at is not null
       and s.interrupted_at < app.now() - make_interval(secs => p_grace_s)
    returning s.id, s.organization_id)
  insert into public.session_events (organization_id, session_id, kind, details)
    select a.organization_id, a.id, 'session.ended', jsonb_build_object('reason', 'nobody reconnected after the media server stopped')
      from abandoned a;
  select coalesce(jsonb_agg(jsonb_build_object('session_id', x.session_id,
           'reason', case when s.id is null or s.status <> 'open' or s.deleted_at is not null then 'ended' else 'moved' end)), '[]')
    into v_close
    from unnest(p_sessions) as x(session_id)
    left join public.recording_sessions s on s.id = x.session_id
    left join public.sfu_placements p on p.session_id = x.session_id
   where s.id is null or s.status <> 'open' or s.deleted_at is not null or p.node_id is distinct from p_node;
  return jsonb_build_object('state', v_state, 'close', v_close);
end $$;

-- The SFU, at a join (tenant: the org the join token names): whether the session is open,
-- whether it is placed on this active node, and (p_claim, when the room opens here)
-- whether recording resumes when the host joins, which it then clears.
create or replace function app.sfu_admit(p_node text, p_session uuid, p_claim boolean)
  returns table (is_open boolean, is_here boolean, resume boolean)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions := app.sfu_session_row(p_session); pl public.sfu_placements; v_active boolean;
begin
  select (n.state = 'active') into v_active from public.sfu_nodes n where n.id = p_node;
  select * into pl from public.sfu_placements p where p.session_id = v.id and p.node_id = p_node for update;
  is_open := v.status = 'open' and v.deleted_at is null;
  is_here := found and coalesce(v_active, false);
  resume := false;
  if is_here and p_claim and pl.resume_recording then
    update public.sfu_placements set resume_recording = false where session_id = v.id;
    resume := true;
  end if;
  return next;
end $$;

-- The SFU, draining: a session leaves this node (its take already stopped and flushed);
-- the next join places it elsewhere, and recording resumes there when p_resume.
create or replace function app.sfu_release_session(p_node text, p_session uuid, p_resume boolean) returns void
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions := app.sfu_session_row(p_session);
begin
  update public.sfu_placements set node_id = null, resume_recording = resume_recording or p_resume
   where session_id = v.id and node_id = p_node;
  if found then
    insert into public.session_events (organization_id, session_id, kind, details)
      values (v.organization_id, v.id, 'session.moved', jsonb_build_object('from', p_node, 'reason', 'draining'));
  end if;
end $$;

-- The SFU, when recording resumes on a node after a drain or a failover (tenant: the
-- token's org): the session's latest take is opened again, so that the recording continues
-- in the same take and the same tracks (each track's chunks go on from its next number, and
-- the time the move took stays a gap on the timeline, as after a reconnect). Returns nothing
-- when the session has no take yet.
create or replace function app.sfu_continue_take(p_session uuid)
  returns table (take_id uuid, take_seq int, take_started_at timestamptz, take_tracks jsonb)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.recording_sessions := app.sfu_session_row(p_session); k public.recording_takes;
begin
  if v.status <> 'open' or v.key_erased_at is not null then raise exception 'session_ended: this session has ended'; end if;
  select * into k from public.recording_takes t where t.session_id = v.id order by t.seq desc limit 1 for update;
  if not found then return; end if;
  update public.recording_takes set stopped_at = null where id = k.id;
  perform app.sfu_event(p_session, 'recording.continued', null, null, jsonb_build_object('take', k.seq));
  return query select k.id, k.seq, k.started_at, coalesce((
    select jsonb_agg(jsonb_build_object('track_id', x.id, 'participant_id', x.participant_id, 'kind', x.kind,
                                        'next_seq', x.next_seq))
      from (select distinct on (t.participant_id, t.kind) t.id, t.participant_id, t.kind,
                   coalesce((select max(c.seq) + 1 from public.chunks c where c.track_id = t.id), 0) as next_seq
              from public.tracks t where t.take_id = k.id
             order by t.participant_id, t.kind, t.started_at desc) x), '[]'::jsonb);
end $$;

-- Operators (the fleet command, the fleet admin API): every node with its load and liveness.
create or replace function app.fleet_nodes()
  returns table (id text, signal_url text, media_address text, state text, alive boolean, capacity_tracks int,
                 load_tracks int, live_sessions int, placed_sessions int, headroom_tracks int,
                 heartbeat_at timestamptz, started_at timestamptz)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select n.id, n.signal_url, n.media_address, n.state, app.fleet_node_alive(n), n.capacity_tracks, n.load_tracks,
         n.live_sessions, coalesce(u.sessions, 0)::int, (n.capacity_tracks - coalesce(u.used, 0))::int,
         n.heartbeat_at, n.started_at
    from public.sfu_nodes n
    left join lateral (select count(*) as sessions, sum(greatest(p.tracks, n.reserve_tracks)) as used
                         from public.sfu_placements p join public.recording_sessions s on s.id = p.session_id
                        where p.node_id = n.id and s.status = 'open') u on true
   order by n.id
$$;

-- Operators: marks a node draining (it takes no new sessions and its live ones move) or
-- active again. A gone node comes back by itself when its process heartbeats.
-- @raises not_found, invalid_state.
create or replace function app.fleet_set_state(p_node text, p_state text) returns text
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v_old text;
begin
  if p_state not in ('active', 'draining') then raise exception 'invalid_state: a node can be set active or draining'; end if;
  select state into v_old from public.sfu_nodes where id = p_node for update;
  if not found then raise exception 'not_found: no such SFU node'; end if;
  if v_old = 'gone' then raise exception 'invalid_state: this node is gone'; end if;
  update public.sfu_nodes set state = p_state, state_changed_at = app.now() where id = p_node and state <> p_state;
  return p_state;
end $$;

-- Grants (here, after the functions exist: sql/099_duties.sql runs before this file).
revoke execute on function app.fleet_lock_key(text), app.fleet_node_alive(public.sfu_nodes),
  app.fleet_recover_node(text, boolean), app.fleet_reap(), app.fleet_place(uuid), app.host_place_session(uuid),
  app.guest_place_session(uuid, bytea), app.fleet_caller_is_node(text), app.fleet_live_available(),
  app.sfu_register_node(text, text, text, int, int, int), app.sfu_heartbeat(text, uuid[], int[], int),
  app.sfu_admit(text, uuid, boolean), app.sfu_release_session(text, uuid, boolean), app.fleet_nodes(),
  app.sfu_continue_take(uuid),
  app.fleet_set_state(text, text)
  from public, recorder_app, recorder_sfu, recorder_jobs, recorder_sweep;
grant execute on function app.host_place_session(uuid), app.guest_place_session(uuid, bytea), app.fleet_live_available()
  to recorder_app;
grant execute on function app.fleet_lock_key(text), app.sfu_register_node(text, text, text, int, int, int),
  app.sfu_heartbeat(text, uuid[], int[], int), app.sfu_admit(text, uuid, boolean),
  app.sfu_release_session(text, uuid, boolean), app.sfu_continue_take(uuid)
  to recorder_sfu;
grant execute on function app.fleet_nodes(), app.fleet_set_state(text, text) to recorder_sweep;
