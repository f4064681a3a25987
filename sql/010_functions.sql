-- Functions the policies and the API use. Applied after every migration run (idempotent).
-- Security-definer functions are the named admin path for cross-tenant work: each one is
-- narrow, checks its caller, and has a fixed search_path. This file is that list.

create or replace function app.current_org_id() returns uuid
  language sql stable as $$
  select nullif(current_setting('app.org_id', true), '')::uuid
$$;
comment on function app.current_org_id() is 'The tenant of this transaction (set_config(''app.org_id'', id, true)); NULL when unset, so an unset tenant sees nothing.';

create or replace function app.current_user_id() returns uuid
  language sql stable as $$
  select nullif(current_setting('app.user_id', true), '')::uuid
$$;
comment on function app.current_user_id() is 'The signed-in user of this transaction; NULL when unset.';

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
    execute format('create policy %I on public.%I for select using (organization_id = app.current_org_id() and (select app.is_member()))', t || '_select', t);
  end loop;
end $$;

create or replace function app.current_role_in_org() returns text
  language sql stable security definer set search_path = pg_catalog, public as $$
  select role from public.memberships
   where organization_id = app.current_org_id() and user_id = app.current_user_id()
$$;
comment on function app.current_role_in_org() is 'Role of the current user in the current org (NULL if not a member). Definer: policies on memberships call it without recursion.';

create or replace function app.is_member() returns boolean
  language sql stable as $$ select app.current_role_in_org() is not null $$;

create or replace function app.is_admin() returns boolean
  language sql stable as $$ select coalesce(app.current_role_in_org() in ('owner', 'admin'), false) $$;

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
  language sql stable security definer set search_path = pg_catalog, public as $$
  select o.id, o.name, m.role, m.created_at
    from public.memberships m join public.organizations o on o.id = m.organization_id
   where m.user_id = app.current_user_id()
   order by o.name, o.id
$$;

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
