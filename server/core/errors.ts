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

/**
 * Maps a Postgres error to an AppError, or returns undefined for errors that are bugs
 * (they become 500s). Custom `raise exception` codes from sql/ use the `P0` class with a
 * message of the form `code: message`.
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
      const m = /^([a-z_]+): (.+)$/.exec(String(err.message));
      if (m?.[1] && m[2]) return new AppError(m[1] === 'not_found' ? 404 : 409, m[1], m[2]);
      return undefined;
    }
    default:
      return undefined;
  }
}
