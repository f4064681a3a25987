/**
 * Join tokens: short-lived, API-signed statements of who may join which session in which
 * role. The SFU verifies them with the same key (derived from SERVER_SECRET) and trusts
 * nothing else the browser says. Format: base64url(JSON payload) "." base64url(HMAC-SHA256).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface JoinClaims {
  /** Recording session id. */
  readonly sid: string;
  /** Organization id (the tenant the SFU writes under). */
  readonly oid: string;
  /** Participant id. */
  readonly pid: string;
  readonly role: 'host' | 'guest';
  /** Display name shown to the other participants. */
  readonly name: string;
  /** Expiry, seconds since the Unix epoch. */
  readonly exp: number;
  /**
   * The version of the consent text this participant accepted; absent when they have not
   * consented. The SFU records nobody without it.
   */
  readonly consent?: string;
  /**
   * The SFU node the API placed the session on: only that node admits the token (a token
   * for a node the session has since left is refused there, and the browser asks again).
   */
  readonly node?: string;
}

/** Thrown by {@link verifyJoinToken}; `code` is stable. */
export class JoinTokenError extends Error {
  readonly code: 'invalid_token' | 'token_expired';
  constructor(code: 'invalid_token' | 'token_expired', message: string) {
    super(message);
    this.name = 'JoinTokenError';
    this.code = code;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Signs claims with `key` (32 bytes). */
export function signJoinToken(key: Buffer, claims: JoinClaims): string {
  const payload = Buffer.from(JSON.stringify({ v: 1, ...claims })).toString('base64url');
  const sig = createHmac('sha256', key).update(payload).digest('base64url');
  return `${payload}.${sig}`;
}

/**
 * Verifies signature, shape and expiry.
 * @throws JoinTokenError `invalid_token` or `token_expired`.
 */
export function verifyJoinToken(key: Buffer, token: unknown, nowMs = Date.now()): JoinClaims {
  if (typeof token !== 'string' || token.length > 2048) throw new JoinTokenError('invalid_token', 'malformed token');
  const [payload, sig, extra] = token.split('.');
  if (!payload || !sig || extra !== undefined) throw new JoinTokenError('invalid_token', 'malformed token');
  const expected = createHmac('sha256', key).update(payload).digest();
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new JoinTokenError('invalid_token', 'bad signature');
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new JoinTokenError('invalid_token', 'malformed payload');
  }
  const { sid, oid, pid, role, name, exp, consent, node } = c;
  if (
    c.v !== 1 ||
    typeof sid !== 'string' ||
    !UUID.test(sid) ||
    typeof oid !== 'string' ||
    !UUID.test(oid) ||
    typeof pid !== 'string' ||
    !UUID.test(pid) ||
    (role !== 'host' && role !== 'guest') ||
    typeof name !== 'string' ||
    typeof exp !== 'number' ||
    (consent !== undefined && typeof consent !== 'string') ||
    (node !== undefined && typeof node !== 'string')
  ) {
    throw new JoinTokenError('invalid_token', 'malformed claims');
  }
  if (exp * 1000 < nowMs) throw new JoinTokenError('token_expired', 'token expired');
  return {
    sid,
    oid,
    pid,
    role,
    name,
    exp,
    ...(consent !== undefined ? { consent } : {}),
    ...(node !== undefined ? { node } : {}),
  };
}

const rejoinMac = (key: Buffer, sid: string, pid: string) =>
  createHmac('sha256', key).update(`rejoin\0${sid}\0${pid}`).digest();

/**
 * A rejoin secret for participant `pid` of session `sid`: the browser keeps it (session
 * storage) and presents it to join again as the same participant after a reload or a
 * dropped network. It admits nobody by itself: the guest link is still required.
 */
export function signRejoinSecret(key: Buffer, sid: string, pid: string): string {
  return `${pid}.${rejoinMac(key, sid, pid).toString('base64url')}`;
}

/**
 * The participant id a rejoin secret was issued for, in session `sid`.
 * @throws JoinTokenError `invalid_token` when it was not issued by us for this session.
 */
export function verifyRejoinSecret(key: Buffer, sid: string, secret: string): string {
  const [pid, mac, extra] = secret.split('.');
  if (!pid || !mac || extra !== undefined || !UUID.test(pid))
    throw new JoinTokenError('invalid_token', 'malformed rejoin secret');
  const given = Buffer.from(mac, 'base64url');
  const expected = rejoinMac(key, sid, pid);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new JoinTokenError('invalid_token', 'bad rejoin secret');
  return pid.toLowerCase();
}
