/**
 * The route registry the OpenAPI document is built from: for each mounted route its method,
 * path, who may call it, the zod schemas of what it takes and answers, and its error codes.
 * Each resource lists its routes in `routes/<resource>/openapi.ts`, next to its router and
 * request schemas; `routes/openapi/all.ts` collects them. test/openapi.test.ts fails when a
 * mounted route is missing here, or when a response in the tests does not match.
 */
import { z } from 'zod';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Who may call a route:
 * - `none`: anyone (sign-in, guest links, health);
 * - `cookie`: a signed-in person (session cookie), not an API key;
 * - `org`: a member of the organisation in the path, by session cookie or by an API key of
 *   that organisation (with the key's role);
 * - `operator`: the operators' bearer token (FLEET_ADMIN_TOKEN); no cookies, no API keys.
 */
export type Auth = 'none' | 'cookie' | 'org' | 'operator';

/** A successful answer: JSON with a schema, a file, or nothing. */
export interface SuccessDoc {
  description: string;
  /** The JSON body (validated in tests); absent for 204 and for files. */
  schema?: z.ZodType;
  /** A non-JSON body, e.g. `audio/ogg` or `text/plain` (the file types it may be). */
  content?: string[];
}

export interface RouteDoc {
  method: Method;
  /** The path as the router has it (`/api/orgs/:orgId/api-keys`). */
  path: string;
  summary: string;
  /** The group it is listed under (orgs, sessions, api-keys, …). */
  tag: string;
  description?: string;
  auth: Auth;
  /** Roles in the organisation that may call it (org routes), e.g. ['owner', 'admin']; default every member. */
  roles?: readonly ('owner' | 'admin' | 'member')[];
  /** False when an API key is refused here (403 `api_key_forbidden`): keys, members, org deletion. */
  keys?: boolean;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** True when the body may be left out (then `{}` is assumed). */
  bodyOptional?: boolean;
  /** Successful statuses and their bodies. */
  responses: Record<number, SuccessDoc>;
  /** Error codes of this route beyond the ones every route of its kind has (see document.ts), by status. */
  errors?: Record<number, readonly string[]>;
}

// Shapes many answers share.
export const isoTime = z.iso.datetime({ offset: true });
export const id = z.uuid();
export const role = z.enum(['owner', 'admin', 'member']);
