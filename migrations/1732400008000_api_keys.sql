-- Up Migration
-- Organisation API keys (issue #13). A key is `rk_<prefix>_<secret>`: the prefix (12
-- lowercase letters and digits) is public and names the key in lists and logs; the secret
-- (32 random bytes, base64url) is shown once and never stored.
--
-- Why this shape: argon2id is the stored verifier (OWASP's choice for secrets people or
-- scripts present), but Postgres has no argon2, and who is asking must still be proven inside
-- the database (sql/010_functions.sql). So the row keeps the salt and argon2 parameters, and
-- `verifier = sha256(argon2id_raw(secret, salt))`. The API fetches the salt by prefix
-- (app.api_key_salt), computes the raw argon2id hash (one hash per verification, found by
-- prefix), and hands it to app.begin_request_key, which compares sha256(raw) with the
-- verifier, checks revocation and expiry against the database's clock, and sets the
-- transaction's verified context. The raw hash is as good as the key to the database, so it
-- is never stored; the verifier is a one-way function of it and is readable by the owner
-- only (the API role has no SELECT on it, nor on the salt). Someone holding the API role's
-- login but no key learns nothing and proves nothing.
--
-- The principal of a key-authenticated request is the key itself: the verified context
-- names the org, the key's role and the key's id, and no user. Rows a key writes name the
-- key (audit_log.actor_api_key_id, recording_sessions.created_by_api_key_id), never a person;
-- a trigger (sql/110_api_keys.sql) enforces it. Keys die with their organisation (cascade);
-- references to a removed key are set null, and the audit entries keep its name and prefix.
create table api_keys (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references organizations (id) on delete cascade,
  name text not null check (length(name) between 1 and 100),
  prefix text not null unique check (prefix ~ '^[a-z0-9]{12}$'),
  role text not null check (role in ('admin', 'member')),
  salt bytea not null check (length(salt) = 16),
  argon2_memory_kib int not null check (argon2_memory_kib >= 19456),
  argon2_iterations int not null check (argon2_iterations >= 2),
  argon2_parallelism int not null check (argon2_parallelism >= 1),
  verifier bytea not null check (length(verifier) = 32),
  created_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  revoked_by uuid references users (id) on delete set null
);
create index api_keys_org_idx on api_keys (organization_id, created_at desc);
comment on table api_keys is 'Organisation API keys: public prefix, argon2id salt and parameters, verifier = sha256(argon2id raw hash) (owner-only column). Tenant table; rows die with their organisation.';

-- Deferred: when an organisation is deleted, its keys go (cascade) in the same statement that
-- sets its audit entries' organization_id null; checked at commit, after this column's own
-- set null, the entry is consistent (checked immediately, the update would see a key gone).
alter table audit_log add column actor_api_key_id uuid references api_keys (id) on delete set null
  deferrable initially deferred;
alter table recording_sessions add column created_by_api_key_id uuid references api_keys (id) on delete set null;

-- Down Migration
alter table recording_sessions drop column created_by_api_key_id;
alter table audit_log drop column actor_api_key_id;
drop table api_keys;
