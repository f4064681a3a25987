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
  const { sid, oid, pid, role, name, exp } = c;
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
    typeof exp !== 'number'
  ) {
    throw new JoinTokenError('invalid_token', 'malformed claims');
  }
  if (exp * 1000 < nowMs) throw new JoinTokenError('token_expired', 'token expired');
  return { sid, oid, pid, role, name, exp };
}
