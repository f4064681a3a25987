-- Up Migration
-- The proven request context (sql/010_functions.sql app.begin_request): the key that signs
-- the context a verified session sets for its transaction, the owner-only clock override
-- that tests use instead of passing times in, and the passwords of the login roles the
-- product creates for its duties. All three live in schema app with no grant to anyone:
-- only the owner (and the security-definer functions it owns) reads them.

create table app.context_key (
  id boolean primary key default true check (id),
  key bytea not null default gen_random_bytes(32),
  code_key bytea
);
insert into app.context_key (id) values (true);
comment on table app.context_key is 'key: signs the verified request context (random, never leaves the database). code_key: seals sign-in codes to the API process (written by the migrator from SERVER_SECRET). Owner only.';

create table app.clock_offset (
  id boolean primary key default true check (id),
  offset_s double precision not null default 0
);
insert into app.clock_offset (id) values (true);
comment on table app.clock_offset is 'Seconds added to now() by app.now(). 0 in production; tests move it (owner only) instead of passing times to functions.';

create table app.role_passwords (
  role name primary key,
  password text not null
);
comment on table app.role_passwords is 'Random passwords of the login roles the product creates (recorder_api, recorder_sfu, recorder_jobs, recorder_sweep). Owner only; processes holding DATABASE_URL read them to connect.';

-- Down Migration
drop table app.role_passwords, app.clock_offset, app.context_key;
