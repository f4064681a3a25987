/** The OpenAPI entries of sign-in and the account (routes/openapi/registry.ts). */
import { z } from 'zod';
import { id, isoTime, role, type RouteDoc } from '../openapi/registry.ts';
import { requestCodeBody, verifyBody, sessionIdParams, updateMeBody } from './schema.ts';

const user = z.object({ id, email: z.string(), display_name: z.string().nullable() });
/** One sign-in (services/auth.ts SessionView): device, browser and OS from the user agent, place from the time zone. */
const authSession = z.object({
  id,
  created_at: isoTime,
  last_seen_at: isoTime,
  expires_at: isoTime,
  user_agent: z.string().nullable(),
  client_ip: z.string().nullable(),
  current: z.boolean(),
  device: z.string().describe('"Chrome on macOS"; "Unknown browser" when the user agent says nothing known'),
  browser: z.string().nullable(),
  os: z.string().nullable(),
  time_zone: z.string().nullable().describe('The IANA zone the browser gave at sign-in'),
  place: z.string().nullable().describe('The place the zone is named for ("Berlin"), null for UTC-like zones'),
});

export const authDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/api/auth/code',
    tag: 'account',
    summary: 'Email a sign-in code (the same answer whether or not the address exists)',
    auth: 'none',
    body: requestCodeBody,
    responses: {
      202: { description: 'Sent if possible', schema: z.object({ ok: z.literal(true), message: z.string() }) },
    },
    errors: { 429: ['rate_limited'] },
  },
  {
    method: 'post',
    path: '/api/auth/verify',
    tag: 'account',
    summary: 'Sign in with the emailed code (sets the session cookie)',
    description:
      'Optional `time_zone`: the browser’s IANA zone (e.g. `Europe/Berlin`), kept with the new session and shown in the sign-in list; an unknown zone is 400 `invalid_input`.',
    auth: 'none',
    body: verifyBody,
    responses: { 200: { description: 'Signed in', schema: z.object({ user }) } },
    errors: { 401: ['invalid_code'], 429: ['rate_limited'] },
  },
  {
    method: 'post',
    path: '/api/auth/logout',
    tag: 'account',
    summary: 'Sign out',
    auth: 'none',
    responses: { 204: { description: 'Signed out' } },
  },
  {
    method: 'get',
    path: '/api/me',
    tag: 'account',
    summary: 'You and your memberships',
    auth: 'cookie',
    responses: {
      200: {
        description: 'You',
        schema: z.object({
          user,
          memberships: z.array(z.object({ id, name: z.string(), role, created_at: isoTime })),
        }),
      },
    },
  },
  {
    method: 'patch',
    path: '/api/me',
    tag: 'account',
    summary: 'Change your display name',
    auth: 'cookie',
    body: updateMeBody,
    responses: { 200: { description: 'You', schema: z.object({ user }) } },
  },
  {
    method: 'get',
    path: '/api/auth/sessions',
    tag: 'account',
    summary: 'Your signed-in sessions',
    auth: 'cookie',
    responses: {
      200: { description: 'Sessions, this one marked `current`', schema: z.object({ sessions: z.array(authSession) }) },
    },
  },
  {
    method: 'post',
    path: '/api/auth/sessions/revoke-others',
    tag: 'account',
    summary: 'Sign out everywhere else: revoke your other sessions',
    auth: 'cookie',
    responses: {
      200: { description: 'How many sessions were revoked', schema: z.object({ revoked: z.number().int().min(0) }) },
    },
  },
  {
    method: 'delete',
    path: '/api/auth/sessions/:id',
    tag: 'account',
    summary: 'Sign out one of your sessions',
    auth: 'cookie',
    params: sessionIdParams,
    responses: { 204: { description: 'Revoked' } },
    errors: { 404: ['session_not_found'] },
  },
];
