-- Up Migration
-- Private mode (issue #14): an organisation's recordings become unreadable to the service
-- once a session is over. Design, and why it differs from a single org passphrase:
-- - The organisation has one ECDH P-256 key pair, generated in the owner's browser
--   (WebCrypto). The server stores only its public half (spki).
-- - Each key holder (owner or admin) stores their own copy of the private half (pkcs8),
--   wrapped in their browser with AES-256-GCM under a PBKDF2-SHA-256 key from their own
--   passphrase (600,000 iterations, per OWASP 2023; salt and iterations stored with it).
--   Several holders means one lost passphrase loses nothing; removing a holder removes
--   their copy (it does not revoke what they could already unwrap).
-- - While recording, the SFU seals chunks under the session's data key as always (it must
--   write). When the session has ended and no transcription run is queued or running, the
--   sweep re-wraps the data key to the org public key (ECIES: ephemeral P-256 ECDH,
--   HKDF-SHA-256, AES-256-GCM, the org+session bound as associated data), stores that in
--   private_wrapped_key and nulls the KMS-wrapped copy in the same statement. From then on
--   no secret the server holds (KEK, KMS, database owner) opens the session's chunks or
--   its transcript (sealed under the same data key).
create table org_private_keys (
  organization_id uuid primary key references organizations (id) on delete cascade,
  public_key bytea not null check (length(public_key) between 64 and 200),
  enabled_by uuid references users (id) on delete set null,
  enabled_at timestamptz not null default now()
);
comment on table org_private_keys is 'Private mode: the organisation''s ECDH P-256 public key (spki). A row means private mode is on. The private key never reaches the server unwrapped. Tenant table.';

create table private_key_holders (
  organization_id uuid not null references org_private_keys (organization_id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  wrapped_private_key jsonb not null check (length(wrapped_private_key::text) < 4000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (organization_id, user_id)
);
comment on table private_key_holders is 'Private mode: each key holder''s copy of the org private key, wrapped in their browser under their own passphrase (PBKDF2-SHA-256 + AES-256-GCM). Tenant table.';

-- An owner or admin without a copy asks for one: their browser makes a personal P-256 key
-- pair and stores its public half here, its private half wrapped under their passphrase. A
-- key holder's browser then seals the org private key to that public key (grant). Both
-- sides see a fingerprint of the public key, to compare out of band: a server that swapped
-- it would be caught there. Finishing stores the requester's own copy and removes the row.
create table private_key_requests (
  organization_id uuid not null references org_private_keys (organization_id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  public_key bytea not null check (length(public_key) between 64 and 200),
  wrapped_request_key jsonb not null check (length(wrapped_request_key::text) < 4000),
  grant_key jsonb check (length(grant_key::text) < 4000),
  granted_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  granted_at timestamptz,
  primary key (organization_id, user_id)
);
comment on table private_key_requests is 'Private mode: an owner or admin asking for a copy of the org private key (their personal public key), and a key holder''s grant (the org key sealed to it). Tenant table.';

alter table recording_sessions add column private_wrapped_key jsonb, add column private_sealed_at timestamptz;
comment on column recording_sessions.private_wrapped_key is 'Private mode: the data key wrapped to the org public key (ECIES); only a browser with a key holder''s passphrase unwraps it. Set together with wrapped_key = null.';

-- Down Migration
alter table recording_sessions drop column private_wrapped_key, drop column private_sealed_at;
drop table private_key_requests, private_key_holders, org_private_keys;
