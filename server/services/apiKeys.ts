/**
 * Organisation API keys: create (shown once), list, revoke, and the proof a bearer key
 * presents for a request (the raw argon2id hash app.begin_request_key checks).
 */
import { withTenant, withUser, type KeyProof } from '../core/db/pool.ts';
import { ARGON2_PARAMS, KeyHashCache, generateKey, keyHash, parseKey } from '../core/crypto/apiKeys.ts';
import * as repo from '../repositories/apiKeys.ts';
import * as audit from '../repositories/audit.ts';
import { badRequest, notFound } from '../core/errors.ts';
import type { Deps } from '../core/context.ts';
import type { SignedInUser } from '../context.ts';
import type { Role } from '../repositories/orgs.ts';
import { requireAdmin, requirePerson, tenantScope } from '../policies.ts';
import { consume } from './rateLimit.ts';

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  role: repo.KeyRole;
  created_by: { user_id: string; email: string | null } | null;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

const present = (k: repo.ApiKeyRow): ApiKeyView => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  role: k.role,
  created_by: k.created_by ? { user_id: k.created_by, email: k.created_by_email } : null,
  created_at: k.created_at.toISOString(),
  expires_at: k.expires_at?.toISOString() ?? null,
  last_used_at: k.last_used_at?.toISOString() ?? null,
  revoked_at: k.revoked_at?.toISOString() ?? null,
});

const label = (k: repo.ApiKeyRow) => ({ id: k.id, name: k.name, prefix: k.prefix });

/**
 * Creates a key (owners and admins, signed in; never a key). The full key is in the answer
 * and nowhere else: only its salt and verifier are stored.
 * @throws AppError 403 `api_key_forbidden` / `admin_required`, 400 `invalid_expiry` (not in the future).
 */
export async function createKey(
  deps: Deps,
  user: SignedInUser,
  orgId: string,
  role: Role,
  input: { name: string; role: repo.KeyRole; expires_at?: string | null | undefined },
): Promise<Omit<ApiKeyView, 'created_by' | 'last_used_at' | 'revoked_at'> & { key: string }> {
  requirePerson(user, 'An API key cannot create API keys.');
  requireAdmin(role, 'Only owners and admins can create API keys.');
  const expiresAt = input.expires_at ? new Date(input.expires_at) : null;
  if (expiresAt && expiresAt.getTime() <= deps.clock.now().getTime())
    throw badRequest('invalid_expiry', 'expires_at must be in the future.');
  const k = generateKey();
  const hash = await keyHash(k.secret, k.salt, ARGON2_PARAMS);
  const row = await withTenant(deps.db.app, tenantScope(orgId, user), async (tx) => {
    const r = await repo.insertKey(tx, {
      orgId,
      name: input.name,
      prefix: k.prefix,
      role: input.role,
      salt: k.salt,
      params: ARGON2_PARAMS,
      hash,
      createdBy: user.id,
      expiresAt,
    });
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'api_key.created',
      details: { api_key: label(r), role: r.role, expires_at: r.expires_at?.toISOString() ?? null },
    });
    return r;
  });
  const v = present(row);
  return {
    id: v.id,
    name: v.name,
    prefix: v.prefix,
    role: v.role,
    created_at: v.created_at,
    expires_at: v.expires_at,
    key: k.key,
  };
}

/** The org's keys, revoked ones included (owners and admins, signed in). */
export async function listKeys(deps: Deps, user: SignedInUser, orgId: string, role: Role): Promise<ApiKeyView[]> {
  requirePerson(user, 'An API key cannot list API keys.');
  requireAdmin(role, 'Only owners and admins can see API keys.');
  const rows = await withTenant(deps.db.app, tenantScope(orgId, user), (tx) => repo.listKeys(tx, orgId));
  return rows.map(present);
}

/**
 * Revokes a key at once: the database refuses it from the next request on.
 * @throws AppError 404 `api_key_not_found` (unknown, another org's, or already revoked).
 */
export async function revokeKey(deps: Deps, user: SignedInUser, orgId: string, role: Role, id: string): Promise<void> {
  requirePerson(user, 'An API key cannot revoke API keys.');
  requireAdmin(role, 'Only owners and admins can revoke API keys.');
  await withTenant(deps.db.app, tenantScope(orgId, user), async (tx) => {
    const r = await repo.revokeKey(tx, orgId, id, user.id);
    if (!r) throw notFound('api_key_not_found', 'No such live API key.');
    await audit.insertAudit(tx, {
      orgId,
      actorUserId: user.id,
      actorEmail: user.email,
      action: 'api_key.revoked',
      details: { api_key: label(r) },
    });
  });
}

/** Turns bearer keys into proofs; one per API process. */
export class KeyProver {
  readonly #deps: Deps;
  readonly #cache: KeyHashCache;
  constructor(deps: Deps, cache = new KeyHashCache()) {
    this.#deps = deps;
    this.#cache = cache;
  }

  /**
   * The proof of `bearer` for a request addressing `orgId`: its prefix and raw argon2id hash.
   * Undefined when it is not a key of ours, or names no live key (unknown, revoked, expired).
   * The hash is computed once per key and cached; whether it is right is for the database.
   * @throws AppError 429 `rate_limited` when `clientIp` caused too many uncached hashes.
   */
  async prove(bearer: string, orgId: string | null, clientIp: string): Promise<KeyProof | undefined> {
    const parsed = parseKey(bearer);
    if (!parsed) return undefined;
    let hash = this.#cache.get(bearer);
    if (!hash) {
      // Each argon2id hash costs 19 MiB and tens of ms, so a client's uncached hashes are
      // counted (RATE_LIMIT_KEY_HASHES_PER_CLIENT per window): a script's keys miss the cache
      // once per key every few minutes; someone guessing secrets does not get far.
      await consume(this.#deps, 'api-key-hash', clientIp, this.#deps.config.rateLimits.keyHashesPerClient);
      const found = await withUser(this.#deps.db.app, null, (tx) => repo.keySalt(tx, parsed.prefix));
      if (!found) return undefined;
      hash = await keyHash(parsed.secret, found.salt, found.params);
    }
    return { keyPrefix: parsed.prefix, keyHash: hash, orgId };
  }

  /** Remembers a hash the database accepted. */
  accepted(bearer: string, proof: KeyProof): void {
    this.#cache.set(bearer, proof.keyHash);
  }
}
