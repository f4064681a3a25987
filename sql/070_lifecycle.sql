-- Data lifecycle: RLS for deletion certificates and export jobs, the database-enforced
-- read-only state of an organization scheduled for deletion, and the narrow
-- security-definer functions (fixed search_path) of the lifecycle sweep, org and account
-- deletion and key rotation. This file lists that admin path.
--
-- Bypass of the read-only state: functions here set `app.lifecycle = on` for their
-- transaction, and the trigger honours it only when the current role can bypass RLS (the
-- owner running a definer function). The API role can set the setting but never that role.

select app.enforce_tenant_rls('deletion_certificates', 'export_jobs');

drop policy if exists deletion_certificates_select on deletion_certificates;
create policy deletion_certificates_select on deletion_certificates for select
  using (organization_id = (select app.member_org_id()));
drop policy if exists deletion_certificates_insert on deletion_certificates;
create policy deletion_certificates_insert on deletion_certificates for insert
  with check (organization_id = (select app.member_org_id()));

drop policy if exists export_jobs_select on export_jobs;
create policy export_jobs_select on export_jobs for select
  using (organization_id = (select app.admin_org_id()));
drop policy if exists export_jobs_insert on export_jobs;
create policy export_jobs_insert on export_jobs for insert
  with check (organization_id = (select app.admin_org_id()));
drop policy if exists export_jobs_update on export_jobs;
create policy export_jobs_update on export_jobs for update
  using (organization_id = (select app.admin_org_id()))
  with check (organization_id = (select app.current_org_id()));

-- When the org's deletion is due (NULL: not scheduled). Definer: the trigger below calls it
-- for any row, whatever the caller may see.
create or replace function app.org_deletion_due(p_org uuid) returns timestamptz
  language sql stable security definer set search_path = pg_catalog, public as $$
  select deletion_due_at from public.organizations where id = p_org and (app.caller() <> 'api' or p_org = app.current_org_id())
$$;

-- True when the current role bypasses RLS (the owner inside a definer function).
create or replace function app.privileged_role() returns boolean
  language sql stable set search_path = pg_catalog, public as $$
  select coalesce((select rolsuper or rolbypassrls from pg_roles where rolname = current_user), false)
$$;

-- The read-only state: while an org is scheduled for deletion its tenant rows refuse writes
-- from the API, and definer functions (guest join, SFU capture) may not add rows. Updates
-- and deletes from definer paths (media sweep, billing webhooks, tracks closing) and
-- everything the lifecycle functions do stay allowed. TG_ARGV[0]: the org id column.
create or replace function app.refuse_write_when_org_pending() returns trigger
  language plpgsql set search_path = pg_catalog, public as $$
declare
  v_row jsonb := case when TG_OP = 'DELETE' then to_jsonb(old) else to_jsonb(new) end;
  v_org uuid := (v_row ->> TG_ARGV[0])::uuid;
begin
  if v_org is not null and app.org_deletion_due(v_org) is not null then
    if not (app.privileged_role() and (TG_OP <> 'INSERT' or current_setting('app.lifecycle', true) = 'on')) then
      raise exception 'org_pending_deletion: this organization is scheduled for deletion and is read-only until an owner cancels it';
    end if;
  end if;
  return case when TG_OP = 'DELETE' then old else new end;
end $$;

-- Every tenant table gets the trigger, except the ones that must keep working during the
-- grace period: the audit log, exports (take your data out first), certificates, billing.
do $$
declare t text;
begin
  for t in
    select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p')
       and (c.relname = 'organizations' or exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'organization_id' and not a.attisdropped))
       and c.relname not in ('audit_log', 'export_jobs', 'deletion_certificates', 'subscriptions', 'billing_customers', 'usage_events')
  loop
    execute format('drop trigger if exists org_read_only on public.%I', t);
    execute format('create trigger org_read_only before insert or update or delete on public.%I for each row execute function app.refuse_write_when_org_pending(%L)',
      t, case when t = 'organizations' then 'id' else 'organization_id' end);
  end loop;
end $$;

-- Owners of an org, for the lifecycle emails.
create or replace function app.org_owner_emails(p_org uuid) returns text[]
  language sql stable security definer set search_path = pg_catalog, public as $$
  select coalesce(array_agg(u.email order by u.email), '{}') from public.memberships m join public.users u on u.id = m.user_id
   where m.organization_id = p_org and m.role = 'owner' and u.deletion_due_at is null
$$;

-- An owner schedules the current org's deletion: due 7 days from app.now() (never a time
-- the caller passes, so the grace period cannot be shortened).
drop function if exists app.schedule_org_deletion(timestamptz, timestamptz);
create or replace function app.schedule_org_deletion()
  returns table (organization_name text, deletion_due_at timestamptz, owner_emails text[])
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
#variable_conflict use_column
declare v_org public.organizations; v_email text; v_now timestamptz := app.now(); v_due timestamptz := app.now() + interval '7 days';
begin
  if app.current_role_in_org() is distinct from 'owner' then raise exception 'owner_required: only an owner can delete the organization'; end if;
  select * into v_org from public.organizations o where o.id = app.current_org_id() for update;
  if v_org.deletion_due_at is not null then raise exception 'already_scheduled: this organization is already scheduled for deletion'; end if;
  perform set_config('app.lifecycle', 'on', true);
  update public.organizations set deletion_scheduled_at = v_now, deletion_due_at = v_due, deletion_scheduled_by = app.current_user_id(), deletion_reminded_at = null
   where id = v_org.id;
  select email into v_email from public.users where id = app.current_user_id();
  insert into public.audit_log (organization_id, actor_user_id, actor_email, action, details)
    values (v_org.id, app.current_user_id(), v_email, 'org.deletion_scheduled', jsonb_build_object('due_at', v_due));
  return query select v_org.name, v_due, app.org_owner_emails(v_org.id);
end $$;

-- Any owner cancels the current org's scheduled deletion.
create or replace function app.cancel_org_deletion()
  returns table (organization_name text, owner_emails text[])
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
#variable_conflict use_column
declare v_org public.organizations; v_email text;
begin
  if app.current_role_in_org() is distinct from 'owner' then raise exception 'owner_required: only an owner can cancel the deletion'; end if;
  select * into v_org from public.organizations o where o.id = app.current_org_id() for update;
  if v_org.deletion_due_at is null then raise exception 'not_scheduled: this organization is not scheduled for deletion'; end if;
  perform set_config('app.lifecycle', 'on', true);
  update public.organizations set deletion_scheduled_at = null, deletion_due_at = null, deletion_scheduled_by = null, deletion_reminded_at = null where id = v_org.id;
  select email into v_email from public.users where id = app.current_user_id();
  insert into public.audit_log (organization_id, actor_user_id, actor_email, action, details)
    values (v_org.id, app.current_user_id(), v_email, 'org.deletion_cancelled', '{}'::jsonb);
  return query select v_org.name, app.org_owner_emails(v_org.id);
end $$;

-- Sweep: orgs whose deletion is due, and those due within a day not yet reminded.
-- The sweep's listing functions read the time from app.now(), never from their caller.
drop function if exists app.lifecycle_orgs_due(timestamptz);
create or replace function app.lifecycle_orgs_due()
  returns table (organization_id uuid, organization_name text, deletion_due_at timestamptz)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select id, name, deletion_due_at from public.organizations where deletion_due_at <= app.now() order by deletion_due_at
$$;

drop function if exists app.lifecycle_claim_reminders(timestamptz);
create or replace function app.lifecycle_claim_reminders()
  returns table (organization_id uuid, organization_name text, deletion_due_at timestamptz, owner_emails text[])
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
#variable_conflict use_column
declare p_now timestamptz := app.now();
begin
  perform set_config('app.lifecycle', 'on', true);
  return query
    update public.organizations o set deletion_reminded_at = p_now
     where o.deletion_due_at is not null and o.deletion_reminded_at is null
       and o.deletion_due_at - interval '1 day' <= p_now and o.deletion_due_at > p_now
    returning o.id, o.name, o.deletion_due_at, app.org_owner_emails(o.id);
end $$;

-- Org deletion, step 1: every session key of the org is erased (nothing opens from now on).
create or replace function app.org_deletion_erase_keys(p_org uuid)
  returns table (sessions int, chunks bigint, bytes bigint)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
#variable_conflict use_column
begin
  if app.org_deletion_due(p_org) is null then raise exception 'not_scheduled: this organization is not scheduled for deletion'; end if;
  perform set_config('app.lifecycle', 'on', true);
  return query
    with erased as (
      update public.recording_sessions s set wrapped_key = null, key_erased_at = coalesce(s.key_erased_at, now()),
             deleted_at = coalesce(s.deleted_at, now()), status = 'ended', ended_at = coalesce(s.ended_at, now())
       where s.organization_id = p_org and s.wrapped_key is not null
      returning s.id)
    select count(*)::int,
           coalesce((select sum(t.chunk_count) from public.tracks t where t.session_id in (select id from erased)), 0)::bigint,
           coalesce((select sum(t.byte_count) from public.tracks t where t.session_id in (select id from erased)), 0)::bigint
      from erased;
end $$;

-- Org deletion, step 2 (after its objects are removed): the audit log is kept with the org
-- id nulled (and orphaned_at set for the 12-month purge); every other row goes with the org.
-- The grace period is checked against app.now(), never a time the caller passes.
drop function if exists app.org_deletion_finish(uuid, timestamptz, jsonb);
create or replace function app.org_deletion_finish(p_org uuid, p_details jsonb)
  returns table (organization_name text, owner_emails text[])
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
#variable_conflict use_column
declare v_org public.organizations; v_owners text[]; p_now timestamptz := app.now();
begin
  if app.caller() not in ('sweep', 'owner') then raise exception 'permission denied: the sweep only' using errcode = '42501'; end if;
  select * into v_org from public.organizations where id = p_org for update;
  if not found or v_org.deletion_due_at is null or v_org.deletion_due_at > p_now then
    raise exception 'not_due: this organization is not due for deletion';
  end if;
  perform set_config('app.lifecycle', 'on', true);
  v_owners := app.org_owner_emails(p_org);
  insert into public.audit_log (organization_id, action, details) values (p_org, 'org.deleted', coalesce(p_details, '{}'::jsonb));
  update public.audit_log set orphaned_at = p_now where organization_id = p_org;
  delete from public.organizations where id = p_org;
  return query select v_org.name, v_owners;
end $$;

-- Audit entries of deleted orgs are purged 12 months (365 days) after the deletion.
drop function if exists app.purge_orphaned_audit(timestamptz);
create or replace function app.purge_orphaned_audit() returns int
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare n int;
begin
  delete from public.audit_log where organization_id is null and orphaned_at < app.now() - interval '365 days';
  get diagnostics n = row_count;
  return n;
end $$;

-- Retention: sessions (any org) whose age passed their org's retention by app.now().
drop function if exists app.retention_due(timestamptz, int);
create or replace function app.retention_due(p_limit int)
  returns table (organization_id uuid, session_id uuid)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select s.organization_id, s.id from public.recording_sessions s join public.organizations o on o.id = s.organization_id
   where o.retention_days is not null and s.wrapped_key is not null
     and coalesce(s.ended_at, s.created_at) + make_interval(days => o.retention_days) <= app.now()
   order by s.created_at limit p_limit
$$;

-- Erases one session's key for the sweep (retention), returning what the certificate
-- states; no row when it was already erased. Call app.store_deletion_certificate in the
-- same transaction.
create or replace function app.lifecycle_erase_session(p_session uuid, p_action text)
  returns table (organization_id uuid, key_provider text, key_id text, wrapped_key_sha256 text, erased_at timestamptz, chunks bigint, bytes bigint, was_open boolean, transcripts bigint)
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
#variable_conflict use_column
declare v public.recording_sessions;
begin
  if p_action not in ('session.erased_by_retention') then raise exception 'invalid_input: unknown erase action'; end if;
  select * into v from public.recording_sessions where id = p_session for update;
  if not found or v.wrapped_key is null then return; end if;
  perform set_config('app.lifecycle', 'on', true);
  update public.recording_sessions set wrapped_key = null, key_erased_at = now(), deleted_at = coalesce(deleted_at, now()), status = 'ended', ended_at = coalesce(ended_at, now())
   where id = p_session;
  insert into public.audit_log (organization_id, action, details)
    values (v.organization_id, p_action, jsonb_build_object('session_id', v.id, 'key_id', v.wrapped_key ->> 'keyId'));
  return query select v.organization_id, v.wrapped_key ->> 'provider', v.wrapped_key ->> 'keyId',
    encode(sha256(decode(v.wrapped_key ->> 'ciphertext', 'base64')), 'hex'), now(),
    coalesce((select sum(t.chunk_count) from public.tracks t where t.session_id = v.id), 0)::bigint,
    coalesce((select sum(t.byte_count) from public.tracks t where t.session_id = v.id), 0)::bigint, v.status = 'open',
    (select count(*) from public.transcripts tr where tr.session_id = v.id);
end $$;

create or replace function app.store_deletion_certificate(p_id uuid, p_org uuid, p_session uuid, p_reason text, p_statement jsonb, p_signature text) returns void
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
begin
  if app.caller() = 'api' and p_org is distinct from app.current_org_id() then raise exception 'not_found: no erased session'; end if;
  if not exists (select 1 from public.recording_sessions where id = p_session and organization_id = p_org and wrapped_key is null) then
    raise exception 'not_found: no erased session';
  end if;
  insert into public.deletion_certificates (id, organization_id, session_id, reason, statement, signature)
    values (p_id, p_org, p_session, p_reason, p_statement, p_signature) on conflict do nothing;
end $$;

-- Accounts: orgs where the current user is the only owner (with an account not being
-- deleted) and that are not themselves scheduled for deletion.
create or replace function app.my_sole_ownerships()
  returns table (organization_id uuid, organization_name text)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select o.id, o.name from public.memberships m join public.organizations o on o.id = m.organization_id
   where m.user_id = app.current_user_id() and m.role = 'owner' and o.deletion_due_at is null
     and not exists (select 1 from public.memberships m2 join public.users u2 on u2.id = m2.user_id
                      where m2.organization_id = o.id and m2.role = 'owner' and m2.user_id <> m.user_id and u2.deletion_due_at is null)
   order by o.name
$$;

drop function if exists app.lifecycle_accounts_due(timestamptz, int);
create or replace function app.lifecycle_accounts_due(p_limit int)
  returns table (user_id uuid)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select id from public.users where deletion_due_at <= app.now() order by deletion_due_at limit p_limit
$$;

-- Purges an account whose recovery window ended: memberships and sign-in state go with the
-- user, its address is removed from audit entries (the entries stay). Refused while the
-- user is the last owner of an org not scheduled for deletion ('last_owner').
-- The 30-day window is checked against app.now(), never a time the caller passes.
drop function if exists app.purge_account(uuid, timestamptz);
create or replace function app.purge_account(p_user uuid) returns boolean
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare v public.users; p_now timestamptz := app.now();
begin
  if app.caller() not in ('sweep', 'owner') then raise exception 'permission denied: the sweep only' using errcode = '42501'; end if;
  select * into v from public.users where id = p_user for update;
  if not found or v.deletion_due_at is null or v.deletion_due_at > p_now then return false; end if;
  if exists (select 1 from public.memberships m join public.organizations o on o.id = m.organization_id
              where m.user_id = p_user and m.role = 'owner' and o.deletion_due_at is null
                and not exists (select 1 from public.memberships m2 where m2.organization_id = o.id and m2.role = 'owner' and m2.user_id <> p_user)) then
    raise exception 'last_owner: the account is the last owner of an organization';
  end if;
  perform set_config('app.lifecycle', 'on', true);
  update public.audit_log set actor_email = null where actor_user_id = p_user;
  update public.audit_log set target_email = null where target_user_id = p_user or target_email = v.email;
  delete from public.login_codes where email = v.email;
  delete from public.users where id = p_user;
  return true;
end $$;

-- Exports (any org) whose file expired, and jobs a dead process left running.
drop function if exists app.lifecycle_expired_exports(timestamptz);
create or replace function app.lifecycle_expired_exports()
  returns table (id uuid, organization_id uuid, object_key text)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select e.id, e.organization_id, e.object_key from public.export_jobs e
   where e.status = 'done' and e.expires_at <= app.now() order by e.expires_at limit 500
$$;

create or replace function app.lifecycle_mark_export_expired(p_id uuid) returns void
  language sql volatile security definer set search_path = pg_catalog, public as $$
  update public.export_jobs set status = 'expired', object_key = null where id = p_id and status = 'done'
$$;

-- Jobs with no heartbeat for 10 minutes (their process died) are failed.
drop function if exists app.lifecycle_fail_stale_exports(timestamptz);
create or replace function app.lifecycle_fail_stale_exports() returns int
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
declare n int;
begin
  update public.export_jobs set status = 'failed', error_code = 'interrupted', finished_at = now()
   where status in ('queued', 'running') and coalesce(heartbeat_at, created_at) < app.now() - interval '10 minutes';
  get diagnostics n = row_count;
  return n;
end $$;

-- Key rotation (operator CLI): wrapped keys in id order after p_after, optionally of one
-- org, skipping those already under p_target_key; and the compare-and-swap that stores a
-- re-wrapped key only if the row still holds the key it was re-wrapped from.
create or replace function app.rotation_batch(p_after uuid, p_limit int, p_org uuid, p_provider text, p_target_key text, p_from_key text)
  returns table (session_id uuid, organization_id uuid, wrapped_key jsonb)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select s.id, s.organization_id, s.wrapped_key from public.recording_sessions s
   where s.wrapped_key is not null and s.id > coalesce(p_after, '00000000-0000-0000-0000-000000000000'::uuid)
     and (p_org is null or s.organization_id = p_org)
     and s.wrapped_key ->> 'provider' = p_provider
     and (p_target_key is null or not (s.wrapped_key ->> 'keyId' = p_target_key or s.wrapped_key ->> 'keyId' like '%:key/' || p_target_key))
     and (p_from_key is null or s.wrapped_key ->> 'keyId' = p_from_key or s.wrapped_key ->> 'keyId' like '%:key/' || p_from_key)
   order by s.id limit p_limit
$$;

create or replace function app.rotation_store(p_session uuid, p_old jsonb, p_new jsonb) returns boolean
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
begin
  perform set_config('app.lifecycle', 'on', true);
  update public.recording_sessions set wrapped_key = p_new where id = p_session and wrapped_key = p_old;
  return found;
end $$;

-- Wrapped keys per (provider, key id): what still depends on each KEK or KMS key.
create or replace function app.rotation_key_usage()
  returns table (provider text, key_id text, sessions bigint)
  language sql stable security definer set search_path = pg_catalog, public as $$
  select wrapped_key ->> 'provider', wrapped_key ->> 'keyId', count(*) from public.recording_sessions
   where wrapped_key is not null group by 1, 2 order by 1, 2
$$;

-- An organisation's own KMS key: read by the key provider, set by the operator.
create or replace function app.org_kms_key(p_org uuid) returns text
  language sql stable security definer set search_path = pg_catalog, public as $$
  select kms_key_id from public.organizations where id = p_org and (app.caller() <> 'api' or p_org = app.current_org_id())
$$;

create or replace function app.set_org_kms_key(p_org uuid, p_key text) returns void
  language plpgsql volatile security definer set search_path = pg_catalog, public as $$
begin
  perform set_config('app.lifecycle', 'on', true);
  update public.organizations set kms_key_id = p_key where id = p_org;
  if not found then raise exception 'not_found: no such organization'; end if;
  insert into public.audit_log (organization_id, action, details) values (p_org, 'org.kms_key_changed', jsonb_build_object('key_id', p_key));
end $$;

grant select, insert on deletion_certificates to recorder_app;
grant select, insert, update on export_jobs to recorder_app;
-- Function grants, by duty: sql/099_duties.sql.
