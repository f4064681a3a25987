-- Organisation API keys (migrations/1732400008000_api_keys.sql explains the verifier):
-- the proof of a key inside the database, its policies, who a key's writes are attributed
-- to, and what a key may not do. Runs after sql/099_duties.sql, so it grants its own
-- functions (099 revokes everything before it grants; it never sees these).
--
-- A key-authenticated transaction's verified context (app.verified_context()) has no user,
-- the key's id in the credential slot (auth_session_id: the session of a cookie, the key of
-- a bearer), the org the key belongs to and the key's role there. Policies that compare
-- organization_id with app.member_org_id() / app.admin_org_id() therefore treat a key like
-- a member of that role; user-scoped tables (users, auth_sessions) show it nothing.

select app.enforce_tenant_rls('api_keys');

-- The key of this transaction (NULL for a signed-in user, a duty role, or nobody): a proven
-- credential without a user is a key. Definer, like app.current_user_id(): it reads the
-- verified context, which only definer functions may.
create or replace function app.current_api_key_id() returns uuid
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
declare v uuid;
begin
  select c.auth_session_id into v from app.verified_context() c where c.user_id is null;
  return v;
end $$;
comment on function app.current_api_key_id() is 'The API key app.begin_request_key proved for this transaction; NULL otherwise.';

-- Signed-in owners and admins see their org's keys, without salt or verifier (column grants
-- below), create them as themselves, and revoke them. A key has no user, so it can neither
-- see, create nor revoke keys. Revoking is the only update, and it cannot be undone.
drop policy if exists api_keys_select on api_keys;
create policy api_keys_select on api_keys for select
  using (organization_id = (select app.admin_org_id()) and (select app.current_user_id()) is not null);
drop policy if exists api_keys_insert on api_keys;
create policy api_keys_insert on api_keys for insert
  with check (organization_id = (select app.admin_org_id()) and created_by = (select app.current_user_id())
              and revoked_at is null and last_used_at is null);
drop policy if exists api_keys_update on api_keys;
create policy api_keys_update on api_keys for update
  using (organization_id = (select app.admin_org_id()) and (select app.current_user_id()) is not null and revoked_at is null)
  with check (organization_id = (select app.admin_org_id()) and revoked_at is not null and revoked_by = (select app.current_user_id()));

-- A key never changes members: restrictive policies, AND-ed with the permissive ones of
-- sql/020_policies.sql (true for every context but a key's).
drop policy if exists memberships_update_no_key on memberships;
create policy memberships_update_no_key on memberships as restrictive for update using ((select app.current_api_key_id()) is null);
drop policy if exists memberships_delete_no_key on memberships;
create policy memberships_delete_no_key on memberships as restrictive for delete using ((select app.current_api_key_id()) is null);
drop policy if exists invitations_insert_no_key on invitations;
create policy invitations_insert_no_key on invitations as restrictive for insert with check ((select app.current_api_key_id()) is null);
drop policy if exists invitations_update_no_key on invitations;
create policy invitations_update_no_key on invitations as restrictive for update using ((select app.current_api_key_id()) is null);
drop policy if exists invitations_delete_no_key on invitations;
create policy invitations_delete_no_key on invitations as restrictive for delete using ((select app.current_api_key_id()) is null);

-- The salt and argon2 parameters of a live key, by its public prefix: all the API needs to
-- compute the raw hash it then proves with app.begin_request_key. Nothing for a revoked,
-- expired or unknown prefix (no hash is computed for those). Time from app.now().
create or replace function app.api_key_salt(p_prefix text)
  returns table (salt bytea, memory_kib int, iterations int, parallelism int)
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
#variable_conflict use_column
begin
  if not pg_has_role(session_user, 'recorder_app', 'member') then
    raise exception 'permission denied: request path only' using errcode = '42501';
  end if;
  if p_prefix is null or p_prefix !~ '^[a-z0-9]{12}$' then return; end if;
  return query
    select k.salt, k.argon2_memory_kib, k.argon2_iterations, k.argon2_parallelism from public.api_keys k
     where k.prefix = p_prefix and k.revoked_at is null and (k.expires_at is null or k.expires_at > app.now());
end $$;

-- The request path's proof for a bearer key (the twin of app.begin_request). p_hash: the
-- raw argon2id hash of the key's secret under its salt; it matches when sha256(p_hash) is the
-- stored verifier. Revocation and expiry are checked here on every request (the API may cache
-- the hash, never the verdict). p_org: the org the request addresses; the context names it
-- (with the key's role) only when the key belongs to it, else no org (the API answers 404).
-- Writes last_used_at at most once a minute, and the audit entry of the key's first use.
create or replace function app.begin_request_key(p_prefix text, p_hash bytea, p_org uuid)
  returns table (api_key_id uuid, key_name text, key_prefix text, organization_id uuid, org_role text)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
#variable_conflict use_column
declare
  v_now timestamptz := app.now();
  v_k public.api_keys;
  v_org text;
  v_role text;
  v_first boolean;
begin
  if not pg_has_role(session_user, 'recorder_app', 'member') then
    raise exception 'permission denied: request path only' using errcode = '42501';
  end if;
  if p_prefix is null or p_prefix !~ '^[a-z0-9]{12}$' or p_hash is null or length(p_hash) <> 32 then return; end if;
  select * into v_k from public.api_keys k where k.prefix = p_prefix;
  if not found or v_k.verifier <> sha256(p_hash) or v_k.revoked_at is not null
     or (v_k.expires_at is not null and v_k.expires_at <= v_now) then
    return;
  end if;
  if v_k.last_used_at is null or v_k.last_used_at < v_now - interval '60 seconds' then
    update public.api_keys k set last_used_at = v_now where k.id = v_k.id returning (v_k.last_used_at is null) into v_first;
    -- Two first requests at once: only the one whose update saw no earlier use writes the entry.
    if v_first and not exists (select 1 from public.audit_log a where a.organization_id = v_k.organization_id
                                  and a.action = 'api_key.first_used' and a.actor_api_key_id = v_k.id) then
      insert into public.audit_log (organization_id, actor_api_key_id, action, details)
        values (v_k.organization_id, v_k.id, 'api_key.first_used',
                jsonb_build_object('api_key', jsonb_build_object('id', v_k.id, 'name', v_k.name, 'prefix', v_k.prefix)));
    end if;
  end if;
  v_org := case when p_org = v_k.organization_id then p_org::text else '' end;
  v_role := case when v_org = '' then '' else v_k.role end;
  perform set_config('app.ctx_user', '', true),
          set_config('app.ctx_org', v_org, true),
          set_config('app.ctx_session', v_k.id::text, true),
          set_config('app.ctx_role', v_role, true),
          set_config('app.ctx_sig', app.context_sig('', v_org, v_k.id::text, v_role), true);
  return query select v_k.id, v_k.name, v_k.prefix, v_k.organization_id, nullif(v_role, '');
end $$;
comment on function app.begin_request_key(text, bytea, uuid) is 'Proves a bearer API key (its raw argon2id hash) and sets the verified org, role and key for this transaction, with no user.';

-- Attribution: what a key writes names the key, never a person, whatever the API passes.
-- TG_ARGV[0]: the column naming a user; TG_ARGV[1] (optional): the column naming a key.
-- The audit log also keeps the key's name and prefix in details (they outlive the key).
create or replace function app.attribute_to_api_key() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  v_key uuid := app.current_api_key_id();
  v_set jsonb;
begin
  if v_key is null then return new; end if;
  v_set := jsonb_build_object(TG_ARGV[0], null);
  if TG_NARGS > 1 then v_set := v_set || jsonb_build_object(TG_ARGV[1], v_key); end if;
  new := jsonb_populate_record(new, v_set);
  if TG_TABLE_NAME = 'audit_log' then
    new.actor_email := null;
    new.details := coalesce(new.details, '{}'::jsonb) || (
      select jsonb_build_object('api_key', jsonb_build_object('id', k.id, 'name', k.name, 'prefix', k.prefix))
        from public.api_keys k where k.id = v_key);
  end if;
  return new;
end $$;

drop trigger if exists attribute_to_api_key on audit_log;
create trigger attribute_to_api_key before insert on audit_log
  for each row execute function app.attribute_to_api_key('actor_user_id', 'actor_api_key_id');
drop trigger if exists attribute_to_api_key on recording_sessions;
create trigger attribute_to_api_key before insert on recording_sessions
  for each row execute function app.attribute_to_api_key('created_by', 'created_by_api_key_id');
drop trigger if exists attribute_to_api_key on participants;
create trigger attribute_to_api_key before insert on participants
  for each row execute function app.attribute_to_api_key('user_id');
drop trigger if exists attribute_to_api_key on transcription_settings;
create trigger attribute_to_api_key before insert or update on transcription_settings
  for each row execute function app.attribute_to_api_key('updated_by');
drop trigger if exists attribute_to_api_key on transcription_runs;
create trigger attribute_to_api_key before insert on transcription_runs
  for each row execute function app.attribute_to_api_key('requested_by');
drop trigger if exists attribute_to_api_key on export_jobs;
create trigger attribute_to_api_key before insert on export_jobs
  for each row execute function app.attribute_to_api_key('requested_by');

-- Grants. The API role never reads salt or verifier.
revoke all on api_keys from recorder_app;
grant select (id, organization_id, name, prefix, role, created_by, created_at, expires_at, last_used_at, revoked_at, revoked_by)
  on api_keys to recorder_app;
grant insert (organization_id, name, prefix, role, salt, argon2_memory_kib, argon2_iterations, argon2_parallelism, verifier,
              created_by, expires_at)
  on api_keys to recorder_app;
grant update (revoked_at, revoked_by) on api_keys to recorder_app;
revoke execute on function app.current_api_key_id(), app.api_key_salt(text), app.begin_request_key(text, bytea, uuid),
  app.attribute_to_api_key() from public;
grant execute on function app.current_api_key_id() to recorder_app, recorder_sfu, recorder_jobs, recorder_sweep;
grant execute on function app.api_key_salt(text), app.begin_request_key(text, bytea, uuid) to recorder_app;
