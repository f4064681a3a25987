/** Assertions and small readers shared by the black-box API tests. */
import assert from 'node:assert/strict';
import type { ParsedMail } from 'mailparser';
import type { HttpClient, Res } from './http.ts';

/** Asserts an error response: the status, the stable code, the JSON shape and a request id. */
export function assertError(res: Res<unknown>, status: number, code: string, what = ''): void {
  const label = `${what} -> ${res.status} ${res.text.slice(0, 200)}`;
  assert.equal(res.status, status, label);
  const err = (res.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  assert.equal(err?.code, code, label);
  assert.equal(typeof err?.message, 'string', label);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/, label);
  assert.ok(res.headers.get('x-request-id'), `${label}: no x-request-id`);
}

/** The 6-digit code in a sign-in email. */
export function codeIn(mail: ParsedMail): string {
  const code = /\b(\d{6})\b/.exec(mail.text ?? '')?.[1];
  assert.ok(code, 'no 6-digit code in the email');
  return code;
}

/** The invitation link in an invitation email, and the token in its fragment. */
export function inviteLinkIn(mail: ParsedMail): { link: string; token: string } {
  const link = /(https?:\/\/\S+\/invite\S*)/.exec(mail.text ?? '')?.[1];
  assert.ok(link, 'no invitation link in the email');
  const url = new URL(link);
  assert.equal(url.search, '', 'the token must not travel in the query string (it would reach server logs)');
  const token = new URLSearchParams(url.hash.slice(1)).get('token');
  assert.ok(token, 'no token in the link fragment');
  return { link, token };
}

/** A different 6-digit code. */
export function otherCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0');
}

/** A fresh unique address for one test. */
export function freshEmail(tag: string): string {
  return `${tag}-${Math.random().toString(36).slice(2, 10)}@example.com`;
}

/** The body of GET /api/me. */
export interface MeBody {
  user: { id: string; email: string; display_name: string | null };
  memberships: { id: string; name: string; role: string }[];
}

/** GET /api/me, typed. */
export function getMe(c: HttpClient): Promise<Res<MeBody>> {
  return c.get<MeBody>('/api/me');
}

/** Bodies of the list endpoints, loosely typed for assertions. */
export interface Lists {
  organizations: { id: string; name: string; role: string }[];
  members: { user_id: string; email: string; role: string }[];
  invitations: { id: string; email: string; role: string }[];
  entries: { id: string; action: string }[];
  next_before: string | null;
  error: { code: string; message: string };
}
