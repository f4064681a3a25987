-- Private mode (migrations/1732400011000_private_mode.sql): RLS on its tables, and the two
-- sweep functions that re-wrap an ended session's data key to the organisation's public key.

select app.enforce_tenant_rls('org_private_keys', 'private_key_holders');
select app.members_may_read('org_private_keys');

-- Only an owner turns private mode on, once (turning it off is not offered: sessions already
-- sealed cannot go back without a key holder's browser).
drop policy if exists org_private_keys_insert on org_private_keys;
create policy org_private_keys_insert on org_private_keys for insert
  with check (organization_id = (select app.admin_org_id()) and (select app.current_role_in_org()) = 'owner');

-- A holder reads their own copy; owners and admins see who holds one.
drop policy if exists private_key_holders_select on private_key_holders;
create policy private_key_holders_select on private_key_holders for select
  using (organization_id = (select app.member_org_id())
         and (user_id = (select app.current_user_id()) or (select app.is_admin())));
-- Owners and admins register or change their own copy only.
drop policy if exists private_key_holders_insert on private_key_holders;
create policy private_key_holders_insert on private_key_holders for insert
  with check (organization_id = (select app.admin_org_id()) and user_id = (select app.current_user_id()));
drop policy if exists private_key_holders_update on private_key_holders;
create policy private_key_holders_update on private_key_holders for update
  using (organization_id = (select app.admin_org_id()) and user_id = (select app.current_user_id()))
  with check (organization_id = (select app.admin_org_id()) and user_id = (select app.current_user_id()));
-- Owners remove anyone's copy; anyone their own. The last copy cannot go (see the trigger).
drop policy if exists private_key_holders_delete on private_key_holders;
create policy private_key_holders_delete on private_key_holders for delete
  using (organization_id = (select app.admin_org_id())
         and (user_id = (select app.current_user_id()) or (select app.current_role_in_org()) = 'owner'));

select app.enforce_tenant_rls('private_key_requests');
-- The requester sees their own request; owners and admins see all (to grant them).
drop policy if exists private_key_requests_select on private_key_requests;
create policy private_key_requests_select on private_key_requests for select
  using (organization_id = (select app.member_org_id())
         and (user_id = (select app.current_user_id()) or (select app.is_admin())));
-- Owners and admins ask for themselves only.
drop policy if exists private_key_requests_insert on private_key_requests;
create policy private_key_requests_insert on private_key_requests for insert
  with check (organization_id = (select app.admin_org_id()) and user_id = (select app.current_user_id()) and grant_key is null);
-- A key holder grants someone else's request; the requester may replace their own ungranted one.
drop policy if exists private_key_requests_update on private_key_requests;
create policy private_key_requests_update on private_key_requests for update
  using (organization_id = (select app.admin_org_id()))
  with check (organization_id = (select app.admin_org_id())
              and ((user_id <> (select app.current_user_id()) and granted_by = (select app.current_user_id())
                    and exists (select 1 from private_key_holders h where h.organization_id = private_key_requests.organization_id
                                and h.user_id = (select app.current_user_id())))
                   or (user_id = (select app.current_user_id()) and grant_key is null)));
drop policy if exists private_key_requests_delete on private_key_requests;
create policy private_key_requests_delete on private_key_requests for delete
  using (organization_id = (select app.admin_org_id())
         and (user_id = (select app.current_user_id()) or (select app.current_role_in_org()) = 'owner'));
grant select, insert, update, delete on private_key_requests to recorder_app;

create or replace function app.private_keep_last_holder() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if exists (select 1 from public.org_private_keys k where k.organization_id = old.organization_id)
     and not exists (select 1 from public.private_key_holders h where h.organization_id = old.organization_id) then
    raise exception 'last_key_holder: the last key holder cannot be removed (every private recording would be lost)';
  end if;
  return null;
end $$;
drop trigger if exists private_key_holders_keep_last on private_key_holders;
create constraint trigger private_key_holders_keep_last after delete on private_key_holders
  deferrable initially deferred for each row execute function app.private_keep_last_holder();

grant select, insert on org_private_keys to recorder_app;
grant select, insert, update, delete on private_key_holders to recorder_app;

-- Sweep (admin path): ended sessions of private-mode orgs whose data key is still KMS-wrapped
-- and that no transcription run still needs, with the key to re-wrap and the org public key.
create or replace function app.private_sessions_pending(p_limit int)
  returns table (organization_id uuid, session_id uuid, wrapped_key jsonb, public_key bytea)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select s.organization_id, s.id, s.wrapped_key, k.public_key
    from public.recording_sessions s
    join public.org_private_keys k on k.organization_id = s.organization_id
   where s.status = 'ended' and s.wrapped_key is not null and s.key_erased_at is null and s.deleted_at is null
     and s.private_wrapped_key is null
     and not exists (select 1 from public.transcription_runs r where r.session_id = s.id and r.status in ('queued', 'running'))
   order by s.ended_at limit greatest(1, least(p_limit, 500))
$$;

-- Sweep: stores the re-wrapped key and erases the KMS-wrapped copy in one statement, only
-- when the session is still pending and the org key is the one it was wrapped to; audits it.
create or replace function app.private_seal_session(p_session uuid, p_public_key bytea, p_private_wrapped jsonb) returns boolean
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v_org uuid;
begin
  if p_private_wrapped is null or jsonb_typeof(p_private_wrapped) <> 'object' then
    raise exception 'invalid_input: a wrapped key record is needed';
  end if;
  update public.recording_sessions s
     set private_wrapped_key = p_private_wrapped, wrapped_key = null, private_sealed_at = now()
   where s.id = p_session and s.status = 'ended' and s.wrapped_key is not null and s.key_erased_at is null
     and s.deleted_at is null and s.private_wrapped_key is null
     and exists (select 1 from public.org_private_keys k where k.organization_id = s.organization_id and k.public_key = p_public_key)
     and not exists (select 1 from public.transcription_runs r where r.session_id = s.id and r.status in ('queued', 'running'))
  returning s.organization_id into v_org;
  if v_org is null then return false; end if;
  insert into public.audit_log (organization_id, action, details)
    values (v_org, 'private_mode.session_sealed', jsonb_build_object('session_id', p_session));
  return true;
end $$;

-- Erasure (a deleted recording, retention, org deletion) erases the re-wrapped key too,
-- whichever path sets key_erased_at: no copy of the data key survives it.
create or replace function app.private_erase_with_key() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if new.key_erased_at is not null then new.private_wrapped_key := null; end if;
  return new;
end $$;
drop trigger if exists recording_sessions_private_erase on public.recording_sessions;
create trigger recording_sessions_private_erase before update on public.recording_sessions
  for each row when (new.key_erased_at is not null and new.private_wrapped_key is not null)
  execute function app.private_erase_with_key();

revoke execute on function app.private_erase_with_key(), app.private_keep_last_holder(), app.private_sessions_pending(int),
  app.private_seal_session(uuid, bytea, jsonb) from public;
grant execute on function app.private_sessions_pending(int), app.private_seal_session(uuid, bytea, jsonb) to recorder_sweep;
