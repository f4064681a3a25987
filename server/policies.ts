/**
 * Every role rule of the API in one place: who may do what in an organization. Routes get
 * the actor ({user, orgId, role}) from the session middleware (proven by the database);
 * services call these before acting. The database's policies (sql/) enforce the same rules
 * again, so a forgotten check here is refused there.
 */
import { forbidden } from './core/errors.ts';
import type { TenantScope } from './core/db/pool.ts';
import type { SignedInUser } from './context.ts';
import type { Role } from './repositories/orgs.ts';

/** Owners and admins manage an organization (members, invitations, audit, settings, exports). */
export function isAdmin(role: Role): boolean {
  return role === 'owner' || role === 'admin';
}

/** @throws AppError 403 `admin_required` unless owner or admin. */
export function requireAdmin(role: Role, message = 'Only owners and admins can do that.'): void {
  if (!isAdmin(role)) throw forbidden('admin_required', message);
}

/** @throws AppError 403 `owner_required` unless owner (billing, deletion, ownership). */
export function requireOwner(role: Role, message: string): void {
  if (role !== 'owner') throw forbidden('owner_required', message);
}

/**
 * Only an owner grants, takes away, invites or removes ownership.
 * @throws AppError 403 `owner_required` when `touchesOwnership` and the actor is not an owner.
 */
export function requireOwnerForOwnership(role: Role, touchesOwnership: boolean, message: string): void {
  if (touchesOwnership) requireOwner(role, message);
}

/**
 * What only a signed-in person may do, never an API key: create or see keys, change members
 * or invitations, delete the organization (sql/110_api_keys.sql refuses them again).
 * @throws AppError 403 `api_key_forbidden` when the actor is an API key.
 */
export function requirePerson(user: SignedInUser, message = 'An API key cannot do that; sign in.'): void {
  if (user.apiKey) throw forbidden('api_key_forbidden', message);
}

/** The transaction scope of a user acting in an org (checked against the request's proof). */
export function tenantScope(orgId: string, user: SignedInUser): TenantScope {
  return { orgId, userId: user.id };
}
