/**
 * Typed application errors. Each carries an HTTP status and a stable snake_case `code`
 * that clients may rely on; the error middleware renders `{error: {code, message}}`.
 * Postgres errors are mapped to these in exactly one place: {@link fromPgError}.
 */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  readonly details: Record<string, unknown> | undefined;
  constructor(
    status: number,
    code: string,
    message: string,
    opts: { headers?: Record<string, string>; details?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.status = status;
    this.code = code;
    this.headers = opts.headers ?? {};
    this.details = opts.details;
  }
}

export const badRequest = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError(400, code, message, details ? { details } : {});
export const unauthorized = (code = 'unauthenticated', message = 'Sign in first.') => new AppError(401, code, message);
export const forbidden = (code = 'forbidden', message = 'You are not allowed to do that.') =>
  new AppError(403, code, message);
export const notFound = (code = 'not_found', message = 'Not found.') => new AppError(404, code, message);
export const conflict = (code: string, message: string) => new AppError(409, code, message);
export const tooManyRequests = (retryAfterS: number) =>
  new AppError(429, 'rate_limited', 'Too many requests; try again later.', {
    headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterS))) },
  });

interface PgErrorLike {
  code?: unknown;
  constraint?: unknown;
  message?: unknown;
}

function isPgError(err: unknown): err is PgErrorLike & Error {
  return (
    err instanceof Error &&
    typeof (err as PgErrorLike).code === 'string' &&
    /^[0-9A-Z]{5}$/.test(String((err as PgErrorLike).code))
  );
}

/** A refusal raised by sql/ (`raise exception 'code: message'`, SQLSTATE P0001), parsed. */
export interface RaisedError {
  /** The stable snake_case code, e.g. `org_pending_deletion`. */
  readonly code: string;
  readonly message: string;
}

/**
 * Parses a `raise exception 'code: message'` of sql/; undefined for any other error. The one
 * reader of that convention: services that must react to a refusal (a job ending on
 * `recording_erased`) ask here instead of matching the message.
 */
export function raisedError(err: unknown): RaisedError | undefined {
  if (!isPgError(err) || err.code !== 'P0001') return undefined;
  const m = /^([a-z_]+): (.+)$/s.exec(String(err.message));
  return m?.[1] && m[2] ? { code: m[1], message: m[2] } : undefined;
}

/**
 * How the API answers a raised code, where it is not 409 with the database's message:
 * missing things are 404, and an organisation scheduled for deletion is read-only (423, the
 * `org_read_only` trigger of sql/070_lifecycle.sql, whichever route ran into it).
 */
const RAISED_ANSWERS: Readonly<Record<string, { status: number; message?: string; headers?: Record<string, string> }>> =
  {
    not_found: { status: 404 },
    invalid_invitation: { status: 404 },
    invalid_link: { status: 404, message: 'This guest link is not valid.' },
    org_pending_deletion: {
      status: 423,
      message: 'This organization is scheduled for deletion and is read-only until an owner cancels it.',
    },
    // No SFU node has room for another live session (sql/130_fleet.sql app.fleet_place).
    fleet_full: {
      status: 503,
      message: 'Every media server is full right now. Try again in a few seconds.',
      headers: { 'retry-after': '5' },
    },
    // The session's node is draining and has not handed it over yet (within a second).
    session_moving: {
      status: 503,
      message: 'This session is moving to another media server. Try again in a moment.',
      headers: { 'retry-after': '1' },
    },
  };

/**
 * Maps a database error to an AppError, or returns undefined for errors that are bugs
 * (they become 500s): Postgres error codes, and the refusals sql/ raises as `code: message`
 * (see {@link raisedError}). The error middleware calls it for every error that is not
 * already an AppError, so services let database refusals through unchanged.
 */
export function fromPgError(err: unknown): AppError | undefined {
  if (!isPgError(err)) return undefined;
  const code = String(err.code);
  switch (code) {
    case '42501': // insufficient_privilege, includes RLS WITH CHECK violations
      return forbidden('forbidden', 'You are not allowed to do that.');
    case '23505':
      return conflict('already_exists', 'That already exists.');
    case '23503':
      return notFound('not_found', 'A referenced record does not exist.');
    case '22P02': // invalid_text_representation (e.g. a malformed uuid)
    case '22023':
    case '22021': // character_not_in_repertoire
    case '22P05': // untranslatable_character (e.g. NUL in text)
      return badRequest('invalid_input', 'A value has the wrong form.');
    case 'P0001': {
      const raised = raisedError(err);
      if (!raised) return undefined;
      const answer = RAISED_ANSWERS[raised.code];
      return new AppError(answer?.status ?? 409, raised.code, answer?.message ?? raised.message, {
        headers: answer?.headers ?? {},
      });
    }
    default:
      return undefined;
  }
}
