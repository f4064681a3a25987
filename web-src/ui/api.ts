/**
 * The JSON API from the browser: same-origin fetch with the CSRF header, typed answers, and
 * one error type carrying the API's stable `code`.
 */

/** An API refusal: `status` is the HTTP status, `code` the API's snake_case error code. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  /** The whole `error` object of the answer (some carry extra fields, e.g. `purge_at`). */
  readonly details: Record<string, unknown>;
  constructor(status: number, message: string, code: string | undefined, details: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** The CSRF token the server set as a cookie, echoed in a header on every request. */
export function csrf(): string {
  const m = /(?:^|;\s*)csrf_token=([^;]+)/.exec(document.cookie);
  return m?.[1] ? decodeURIComponent(m[1]) : '';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Calls the API and returns its JSON answer (`{}` for 204). The answer's type is the
 * caller's claim about the route, as with any JSON API.
 * @throws ApiError when the answer is not 2xx; TypeError when the network fails.
 */
export async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), 'x-csrf-token': csrf() },
    body: body !== undefined ? JSON.stringify(body) : null,
    credentials: 'same-origin',
  });
  const data: unknown = res.status === 204 ? {} : await res.json().catch(() => ({}));
  if (!res.ok) {
    const error = isRecord(data) && isRecord(data.error) ? data.error : {};
    const message = typeof error.message === 'string' ? error.message : `Request failed (${res.status})`;
    throw new ApiError(res.status, message, typeof error.code === 'string' ? error.code : undefined, error);
  }
  return data as T;
}

/** The message to show for any thrown value. */
export function messageOf(err: unknown): string {
  if (err instanceof TypeError) return 'Cannot reach the server. Check your connection and try again.';
  return err instanceof Error ? err.message : String(err);
}
