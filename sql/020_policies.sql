-- Row-level security: the tenant boundary. Every tenant table has ENABLE and FORCE, and
-- policies comparing organization_id with app.current_org_id(). Re-applied after every
-- migration run, so policies are always exactly what this file says.
select app.enforce_tenant_rls('organizations', 'memberships', 'invitations', 'audit_log');

drop policy if exists organizations_select on organizations;
create policy organizations_select on organizations for select
  using (id = (select app.member_org_id()));
drop policy if exists organizations_update on organizations;
create policy organizations_update on organizations for update
  using (id = (select app.admin_org_id()))
  with check (id = (select app.current_org_id()));

drop policy if exists memberships_select on memberships;
create policy memberships_select on memberships for select
  using (organization_id = (select app.member_org_id()));
drop policy if exists memberships_update on memberships;
create policy memberships_update on memberships for update
  using (organization_id = (select app.admin_org_id()))
  with check (organization_id = (select app.current_org_id()));
drop policy if exists memberships_delete on memberships;
create policy memberships_delete on memberships for delete
  using (organization_id = (select app.current_org_id()) and (user_id = (select app.current_user_id()) or (select app.is_admin())));

drop policy if exists invitations_all on invitations;
create policy invitations_all on invitations for all
  using (organization_id = (select app.admin_org_id()))
  with check (organization_id = (select app.admin_org_id()));

drop policy if exists audit_log_select on audit_log;
create policy audit_log_select on audit_log for select
  using (organization_id = (select app.admin_org_id()));
drop policy if exists audit_log_insert on audit_log;
create policy audit_log_insert on audit_log for insert
  with check (organization_id = (select app.member_org_id()));
