-- What the application role may do for the foundation tables (feature files grant their own).
-- recorder_app owns nothing, is not superuser and has
-- no BYPASSRLS; the login role the API uses is a member of it. Functions are not
-- executable by PUBLIC; each one the API calls is granted here.
revoke all on schema public from public;
grant usage on schema public, app to recorder_app;
-- users, auth_sessions, login_codes, rate_limits: sql/015_signin.sql.
grant select, update on organizations to recorder_app;
grant select, update, delete on memberships to recorder_app;
grant select, insert, update, delete on invitations to recorder_app;
grant select, insert on audit_log to recorder_app;
revoke execute on all functions in schema app from public;
-- Function grants, by duty: sql/099_duties.sql.
