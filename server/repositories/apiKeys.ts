/** SQL for organisation API keys (tenant table: run inside withTenant; salt via a definer function). */
import { many, maybeOne, one, type Queryable } from '../core/db/pool.ts';
import type { Argon2Params } from '../core/crypto/apiKeys.ts';

export type KeyRole = 'admin' | 'member';

export interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  role: KeyRole;
  created_by: string | null;
  created_by_email: string | null;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const COLS = `k.id, k.name, k.prefix, k.role, k.created_by,
  (select u.email from memberships m join users u on u.id = m.user_id
    where m.organization_id = k.organization_id and m.user_id = k.created_by) as created_by_email,
  k.created_at, k.expires_at, k.last_used_at, k.revoked_at`;

/** Salt and argon2 parameters of a live key by its prefix (app.api_key_salt; no context needed). */
export async function keySalt(
  db: Queryable,
  prefix: string,
): Promise<{ salt: Buffer; params: Argon2Params } | undefined> {
  const r = await maybeOne<{ salt: Buffer; memory_kib: number; iterations: number; parallelism: number }>(
    db,
    'select salt, memory_kib, iterations, parallelism from app.api_key_salt($1::text)',
    [prefix],
  );
  return r
    ? { salt: r.salt, params: { memoryKib: r.memory_kib, iterations: r.iterations, parallelism: r.parallelism } }
    : undefined;
}

/** Stores a new key; the database keeps sha256(hash) as its verifier. */
export function insertKey(
  db: Queryable,
  k: {
    orgId: string;
    name: string;
    prefix: string;
    role: KeyRole;
    salt: Buffer;
    params: Argon2Params;
    hash: Buffer;
    createdBy: string;
    expiresAt: Date | null;
  },
): Promise<ApiKeyRow> {
  return one<ApiKeyRow>(
    db,
    `with k as (
       insert into api_keys (organization_id, name, prefix, role, salt, argon2_memory_kib, argon2_iterations,
                             argon2_parallelism, verifier, created_by, expires_at)
       values ($1::uuid, $2::text, $3::text, $4::text, $5::bytea, $6::int, $7::int, $8::int, sha256($9::bytea),
               $10::uuid, $11::timestamptz)
       returning id, organization_id, name, prefix, role, created_by, created_at, expires_at, last_used_at, revoked_at)
     select ${COLS} from k`,
    [
      k.orgId,
      k.name,
      k.prefix,
      k.role,
      k.salt,
      k.params.memoryKib,
      k.params.iterations,
      k.params.parallelism,
      k.hash,
      k.createdBy,
      k.expiresAt,
    ],
  );
}

/** Every key of the org, newest first, revoked ones included. */
export function listKeys(db: Queryable, orgId: string): Promise<ApiKeyRow[]> {
  return many<ApiKeyRow>(
    db,
    `select ${COLS} from api_keys k where k.organization_id = $1::uuid order by k.created_at desc, k.id`,
    [orgId],
  );
}

/** Revokes a live key; undefined when there is none with that id in the org. */
export function revokeKey(db: Queryable, orgId: string, id: string, by: string): Promise<ApiKeyRow | undefined> {
  return maybeOne<ApiKeyRow>(
    db,
    `with k as (
       update api_keys set revoked_at = now(), revoked_by = $3::uuid
        where organization_id = $1::uuid and id = $2::uuid and revoked_at is null
       returning id, organization_id, name, prefix, role, created_by, created_at, expires_at, last_used_at, revoked_at)
     select ${COLS} from k`,
    [orgId, id, by],
  );
}
