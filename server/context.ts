/**
 * The typed Koa state every API handler reads, and the signed-in user services act for.
 */
import type { RouterContext } from '@koa/router';
import type { Role } from './repositories/orgs.ts';

export interface SignedInUser {
  id: string;
  email: string;
  displayName: string | null;
  authSessionId: string;
  /**
   * Set when the request authenticated with an API key: the principal is then the key
   * (`id` and `authSessionId` are the key's id, `email` is empty, `displayName` its name);
   * the database attributes its writes to the key (sql/110_api_keys.sql).
   */
  apiKey?: ApiKeyPrincipal;
}

/** The API key a request authenticated with. */
export interface ApiKeyPrincipal {
  id: string;
  name: string;
  prefix: string;
}

/** A sign-in's result: the session token (set as the cookie) and who it signs in. */
export interface NewSession {
  token: string;
  user: SignedInUser;
}

/** Who a request acts as: proven by the database (app.begin_request), never by a setting. */
export interface Actor {
  user: SignedInUser;
  /** The org the path names, when the user is a member of it. */
  orgId: string | null;
  role: Role | null;
}

/** The actor of an org-scoped route. */
export interface OrgActor {
  user: SignedInUser;
  orgId: string;
  role: Role;
}

export interface AppState {
  requestId: string;
  actor?: Actor;
  user?: SignedInUser;
  org?: { id: string; role: Role };
  /** True when the request came with the session cookie (CSRF applies). */
  cookieAuth?: boolean;
}

export type AppContext = RouterContext<AppState>;
