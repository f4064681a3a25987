-- Functions the policies and the API use. Applied after every migration run (idempotent).
-- Security-definer functions are the named admin path for cross-tenant work: each one is
-- narrow, checks its caller, and has a fixed search_path. This file is that list.

-- ---------------------------------------------------------------------------------------
-- The proven context. Who is asking is established inside the database, never taken on the
-- API's word:
--
-- * app.begin_request(token, org) is the only way the request path gets a user. It takes
--   the session cookie's raw token (never its hash: the table stores only sha256(token),
--   so knowing a stored hash proves nothing), finds the live session, checks the org
--   membership, and sets app.ctx_user / app.ctx_org / app.ctx_session for the transaction
--   (set_config(..., true)), together with app.ctx_sig: an HMAC-SHA256 over those values,
--   the backend pid and the transaction's start time, under app.context_key.key.
-- * The API role can set any app.* setting itself, but it cannot read app.context_key, so it
--   cannot make a signature; and a signature copied from another transaction does not
--   match (other pid or other start time). app.verified_context() recomputes the HMAC and
--   answers NULLs on any mismatch. Policies read the tenant only through it.
-- * No write happens for this: settings, not rows (a read-only request stays read-only,
--   except the throttled last_seen_at of the session).
-- * Duty roles (recorder_sfu, recorder_jobs) act for an org named by an API-signed join
--   token or a job payload the database wrote; for them app.org_id is taken as set. The
--   request path's login is not a member of those roles.
-- ---------------------------------------------------------------------------------------

-- The time every definer function uses: now(), plus the owner-only test offset.
-- (app.begin_request has the same expression inline: it runs on every request.)
create or replace function app.now() returns timestamptz
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
begin
  -- plpgsql, not sql: its plan is cached for the session (an sql function's is not).
  return now() + make_interval(secs => coalesce((select offset_s from app.clock_offset where id), 0));
end $$;

-- Who is calling, from the login (session_user), never from a setting.
create or replace function app.caller() returns text
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
declare r pg_roles;
begin
  select * into r from pg_roles where rolname = session_user;
  if r.rolsuper or r.rolbypassrls then return 'owner'; end if;
  if pg_has_role(session_user, 'recorder_sweep', 'member') then return 'sweep'; end if;
  if pg_has_role(session_user, 'recorder_jobs', 'member') then return 'jobs'; end if;
  if pg_has_role(session_user, 'recorder_sfu', 'member') then return 'sfu'; end if;
  if pg_has_role(session_user, 'recorder_app', 'member') then return 'api'; end if;
  return 'other';
end $$;
comment on function app.caller() is 'owner | sweep | jobs | sfu | api | other: the duty of the login running this transaction.';

-- The signature over a context, as text exactly as set (empty for none): the backend pid and
-- the transaction's start bind it to this transaction.
-- app.begin_request and app.verified_context compute it inline (the same expression).
drop function if exists app.context_sig(uuid, uuid, uuid);
create or replace function app.context_sig(p_user text, p_org text, p_session text, p_role text) returns text
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
begin
  return encode(hmac(convert_to(concat_ws('|', pg_backend_pid(), (extract(epoch from transaction_timestamp()) * 1000000)::bigint,
                                          p_user, p_org, p_session, p_role), 'UTF8'),
                     (select key from app.context_key where id), 'sha256'), 'base64');
end $$;

-- plpgsql without an exception block: its plans are cached for the session, and no
-- subtransaction is opened. The uuid casts run only on values whose signature matched,
-- i.e. values app.begin_request set.
-- (An earlier shape had three out columns; replace it once, not on every migration.)
do $$ begin
  if exists (select 1 from pg_proc where oid = to_regprocedure('app.verified_context()') and cardinality(proallargtypes) = 3) then
    drop function app.verified_context();
  end if;
end $$;
create or replace function app.verified_context(out user_id uuid, out org_id uuid, out auth_session_id uuid, out org_role text)
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
declare
  g text := coalesce(current_setting('app.ctx_sig', true), '');
  u text;
  o text;
  s text;
  r text;
begin
  if g = '' then return; end if;
  u := coalesce(current_setting('app.ctx_user', true), '');
  o := coalesce(current_setting('app.ctx_org', true), '');
  s := coalesce(current_setting('app.ctx_session', true), '');
  r := coalesce(current_setting('app.ctx_role', true), '');
  -- (the HMAC of app.context_sig, inline: policies call this once per table and statement)
  if g <> encode(hmac(convert_to(concat_ws('|', pg_backend_pid(), (extract(epoch from transaction_timestamp()) * 1000000)::bigint,
                                           u, o, s, r), 'UTF8'),
                      (select key from app.context_key where id), 'sha256'), 'base64') then
    return;
  end if;
  user_id := nullif(u, '')::uuid;
  org_id := nullif(o, '')::uuid;
  auth_session_id := nullif(s, '')::uuid;
  org_role := nullif(r, '');
end $$;
comment on function app.verified_context() is 'The user, org, session and role app.begin_request proved for this transaction; NULLs when none was, or when the settings were forged or copied from another transaction.';

create or replace function app.current_org_id() returns uuid
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
declare v uuid;
begin
  select c.org_id into v from app.verified_context() c;
  if v is not null then return v; end if;
  if current_setting('app.org_id', true) is null or current_setting('app.org_id', true) = '' then return null; end if;
  if app.caller() in ('sfu', 'jobs') then return current_setting('app.org_id', true)::uuid; end if;
  return null;
end $$;
comment on function app.current_org_id() is 'The tenant of this transaction: the org app.begin_request proved, or (duty roles only) the org the SFU or job worker named. NULL otherwise, so an unset tenant sees nothing.';

create or replace function app.current_user_id() returns uuid
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
declare v uuid;
begin
  select c.user_id into v from app.verified_context() c;
  return v;
end $$;
comment on function app.current_user_id() is 'The signed-in user proved by app.begin_request for this transaction; NULL otherwise.';

-- A duty role acting for the current org (capture, transcription, export).
create or replace function app.acting_for_org() returns boolean
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
begin
  if current_setting('app.org_id', true) is null or current_setting('app.org_id', true) = '' then return false; end if;
  return app.caller() in ('sfu', 'jobs') and app.current_org_id() is not null and app.current_user_id() is null;
end $$;

-- What policies compare organization_id with, in one call (one proof check per table and
-- statement): the proven org when the proven user is a member of it (admin_org_id: an owner
-- or admin), or the org a duty role acts for; NULL otherwise, so nothing matches.
create or replace function app.member_org_id() returns uuid
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
declare v_org uuid; v_role text;
begin
  select c.org_id, c.org_role into v_org, v_role from app.verified_context() c;
  if v_org is not null then return case when v_role is not null then v_org end; end if;
  if app.acting_for_org() then return app.current_org_id(); end if;
  return null;
end $$;

create or replace function app.admin_org_id() returns uuid
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
declare v_org uuid; v_role text;
begin
  select c.org_id, c.org_role into v_org, v_role from app.verified_context() c;
  if v_org is not null then return case when v_role in ('owner', 'admin') then v_org end; end if;
  if app.acting_for_org() then return app.current_org_id(); end if;
  return null;
end $$;

-- The tenant boundary for a table: ENABLE and FORCE row-level security (the owner is
-- subject to it too). Every file in sql/ that owns tenant tables calls this for them.
create or replace function app.enforce_tenant_rls(variadic p_tables text[]) returns void
  language plpgsql volatile set search_path = pg_catalog, public as $$
declare t text;
begin
  foreach t in array p_tables loop
    execute format('alter table public.%I enable row level security', t);
    execute format('alter table public.%I force row level security', t);
  end loop;
end $$;

-- A `<table>_select` policy: members of the current org read its rows.
create or replace function app.members_may_read(variadic p_tables text[]) returns void
  language plpgsql volatile set search_path = pg_catalog, public as $$
declare t text;
begin
  foreach t in array p_tables loop
    execute format('drop policy if exists %I on public.%I', t || '_select', t);
    execute format('create policy %I on public.%I for select using (organization_id = (select app.member_org_id()))', t || '_select', t);
  end loop;
end $$;

create or replace function app.current_role_in_org() returns text
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
declare v text;
begin
  select c.org_role into v from app.verified_context() c;
  return v;
end $$;
comment on function app.current_role_in_org() is 'Role of the proven user in the proven org, as app.begin_request read it from memberships (NULL if not a member).';

create or replace function app.is_member() returns boolean
  language sql stable as $$ select app.current_role_in_org() is not null or app.acting_for_org() $$;

create or replace function app.is_admin() returns boolean
  language sql stable as $$ select coalesce(app.current_role_in_org() in ('owner', 'admin'), false) or app.acting_for_org() $$;

-- The request path's proof (see the top of this file). p_token: the session cookie's raw
-- token; p_org: the org the request addresses (NULL for none); p_idle_s: the configured
-- idle timeout (capped at 30 days). Returns the user and their role in p_org (NULL when not
-- a member: the context then names no org). Writes nothing, except last_seen_at at most
-- once a minute and the audit entry of a session's first entry into an org.
create or replace function app.begin_request(p_token text, p_org uuid, p_idle_s int)
  returns table (user_id uuid, email text, display_name text, auth_session_id uuid, org_role text)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
#variable_conflict use_column
declare
  -- app.now() and app.context_sig(), inline: each nested definer call costs a search_path
  -- switch and an SPI round, on every request.
  v_now timestamptz := now() + make_interval(secs => coalesce((select offset_s from app.clock_offset where id), 0));
  v_s public.auth_sessions;
  v_u public.users;
  v_role text;
  v_org text;
begin
  -- Only the request path's login (or the owner): one membership check, cheaper than app.caller().
  if not pg_has_role(session_user, 'recorder_app', 'member') then
    raise exception 'permission denied: request path only' using errcode = '42501';
  end if;
  if p_token is null or p_token !~ '^[A-Za-z0-9_-]{20,100}$' then return; end if;
  select * into v_s from public.auth_sessions s
   where s.token_hash = sha256(convert_to(p_token, 'UTF8')) and s.revoked_at is null and s.expires_at > v_now
     and s.last_seen_at > v_now - make_interval(secs => least(greatest(p_idle_s, 60), 30 * 86400));
  if not found then return; end if;
  select * into v_u from public.users u where u.id = v_s.user_id and u.deletion_due_at is null;
  if not found then return; end if;
  if v_s.last_seen_at < v_now - interval '60 seconds' then
    update public.auth_sessions set last_seen_at = v_now where id = v_s.id;
  end if;
  if p_org is not null then
    select m.role into v_role from public.memberships m where m.organization_id = p_org and m.user_id = v_u.id;
    if v_role is not null and not exists (
        select 1 from public.audit_log a where a.organization_id = p_org and a.action = 'auth.org_entered'
           and (a.details ->> 'auth_session_id') = v_s.id::text) then
      insert into public.audit_log (organization_id, actor_user_id, actor_email, action, details)
        values (p_org, v_u.id, v_u.email, 'auth.org_entered', jsonb_build_object('auth_session_id', v_s.id::text))
        on conflict do nothing;
    end if;
  end if;
  v_org := case when v_role is null then '' else p_org::text end;
  perform set_config('app.ctx_user', v_u.id::text, true),
          set_config('app.ctx_org', v_org, true),
          set_config('app.ctx_session', v_s.id::text, true),
          set_config('app.ctx_role', coalesce(v_role, ''), true),
          set_config('app.ctx_sig', encode(hmac(convert_to(concat_ws('|', pg_backend_pid(),
                       (extract(epoch from transaction_timestamp()) * 1000000)::bigint,
                       v_u.id::text, v_org, v_s.id::text, coalesce(v_role, '')), 'UTF8'),
                     (select key from app.context_key where id), 'sha256'), 'base64'), true);
  return query select v_u.id, v_u.email, v_u.display_name, v_s.id, v_role;
end $$;
comment on function app.begin_request(text, uuid, int) is 'Proves the request''s session token and sets the verified user/org for this transaction. The only source of app.current_user_id() on the request path.';

-- Admin path: create an organization and make the current user its owner.
create or replace function app.create_organization(p_name text) returns public.organizations
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_user uuid := app.current_user_id();
  v_org public.organizations;
begin
  if v_user is null then raise exception 'unauthenticated: sign in first'; end if;
  insert into public.organizations (name) values (p_name) returning * into v_org;
  insert into public.memberships (organization_id, user_id, role) values (v_org.id, v_user, 'owner');
  insert into public.audit_log (organization_id, actor_user_id, actor_email, action, details)
    select v_org.id, v_user, u.email, 'org.created', jsonb_build_object('name', p_name) from public.users u where u.id = v_user;
  return v_org;
end $$;

-- Admin path: the current user's memberships across organizations (for /api/me).
create or replace function app.my_memberships()
  returns table (organization_id uuid, organization_name text, role text, joined_at timestamptz)
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
begin
  -- plpgsql: /api/me calls it on every request, and its plan is cached for the session.
  return query
    select o.id, o.name, m.role, m.created_at
      from public.memberships m join public.organizations o on o.id = m.organization_id
     where m.user_id = app.current_user_id()
     order by o.name, o.id;
end $$;

-- Admin path: accept an invitation addressed to the current user's email.
create or replace function app.accept_invitation(p_token_hash bytea)
  returns table (organization_id uuid, role text)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare
  v_user uuid := app.current_user_id();
  v_email text;
  v_inv public.invitations;
  v_role text;
begin
  if v_user is null then raise exception 'unauthenticated: sign in first'; end if;
  select email into v_email from public.users where id = v_user;
  select * into v_inv from public.invitations where token_hash = p_token_hash for update;
  if not found or v_inv.revoked_at is not null then
    raise exception 'invalid_invitation: this invitation does not exist or was revoked';
  end if;
  if v_inv.accepted_at is not null then
    raise exception 'invalid_invitation: this invitation was already used';
  end if;
  if v_inv.expires_at <= now() then
    raise exception 'invalid_invitation: this invitation has expired';
  end if;
  if v_inv.email <> v_email then
    raise exception 'wrong_account: this invitation was sent to another email address';
  end if;
  perform app.check_seat_available(v_inv.organization_id, v_user);
  insert into public.memberships (organization_id, user_id, role)
    values (v_inv.organization_id, v_user, v_inv.role)
    on conflict on constraint memberships_pkey do nothing;
  select m.role into v_role from public.memberships m where m.organization_id = v_inv.organization_id and m.user_id = v_user;
  update public.invitations set accepted_at = now(), accepted_by = v_user where id = v_inv.id;
  insert into public.audit_log (organization_id, actor_user_id, actor_email, action, details)
    values (v_inv.organization_id, v_user, v_email, 'invitation.accepted', jsonb_build_object('invitation_id', v_inv.id, 'role', v_role));
  return query select v_inv.organization_id, v_role;
end $$;

-- Seat check used when someone joins. Billing (when enabled) replaces the body; the
-- foundation version allows every join.
create or replace function app.check_seat_available(p_org uuid, p_user uuid) returns void
  language plpgsql stable security definer set search_path = pg_catalog, public as $$
begin
  return;
end $$;

-- Keeps every organization with at least one owner: a role change or removal that would
-- leave none is refused (the org's own deletion cascades and is allowed).
create or replace function app.ensure_an_owner_remains() returns trigger
  language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  if old.role = 'owner'
     and exists (select 1 from public.organizations where id = old.organization_id)
     and not exists (select 1 from public.memberships where organization_id = old.organization_id and role = 'owner') then
    raise exception 'last_owner: an organization must keep at least one owner';
  end if;
  return null;
end $$;
drop trigger if exists memberships_owner_remains on public.memberships;
create constraint trigger memberships_owner_remains after update or delete on public.memberships
  deferrable initially immediate for each row execute function app.ensure_an_owner_remains();
