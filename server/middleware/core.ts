/**
 * Middleware every request passes: request id + log context, structured request log and
 * latency metric, typed error rendering, security headers, JSON body parsing.
 */
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import { AppError, fromPgError } from '../core/errors.ts';
import { log, requestContext, errorFields } from '../core/logger.ts';
import type { Deps } from '../core/context.ts';
import type { AppContext, AppState } from '../context.ts';

type Next = () => Promise<unknown>;

/**
 * Request id, request log, metrics. An incoming x-request-id is kept only behind a trusted
 * proxy (TRUST_PROXY, which sets it: ops/nginx); from a client it is free text and would
 * carry whatever the client put there into every log line.
 */
export function requestLifecycle(deps: Deps) {
  return async (ctx: AppContext, next: Next) => {
    const given = deps.config.trustProxy ? ctx.get('x-request-id') : '';
    const requestId = /^[A-Za-z0-9._-]{8,64}$/.test(given) ? given : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('x-request-id', requestId);
    const started = process.hrtime.bigint();
    await requestContext.run({ requestId }, async () => {
      try {
        await next();
      } finally {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        // The route template, never the raw path: paths carry ids and tokens.
        const route = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
        const routeLabel = typeof route === 'string' ? route : ctx.status === 404 ? 'unmatched' : 'other';
        deps.metrics.httpDuration.observe(
          { route: routeLabel, method: ctx.method, status: String(ctx.status) },
          seconds,
        );
        const org = ctx.state.org ? deps.metrics.orgLabel(ctx.state.org.id) : undefined;
        if (ctx.state.org)
          deps.metrics.orgRequests.inc({
            org: deps.metrics.orgSeries(ctx.state.org.id),
            code_class: `${Math.floor(ctx.status / 100)}xx`,
          });
        log.info('request', {
          route: routeLabel,
          method: ctx.method,
          status: ctx.status,
          latency_ms: Math.round(seconds * 1e4) / 10,
          ...(org ? { org } : {}),
          // An API key's public prefix (never the key): which automation made the request.
          ...(ctx.state.user?.apiKey ? { credential: `rec_${ctx.state.user.apiKey.prefix}` } : {}),
        });
      }
    });
  };
}

/** Renders AppErrors (and mapped Postgres errors) as `{error: {code, message}}`; anything else is a logged 500. */
export function errorHandler() {
  return async (ctx: AppContext, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined && ctx.path.startsWith('/api/')) {
        ctx.status = 404;
        ctx.body = { error: { code: 'not_found', message: 'No such endpoint.' } };
      } else if (ctx.status === 405 && ctx.body === undefined && ctx.path.startsWith('/api/')) {
        // The router's allowedMethods() answers a known path with a wrong method (Allow is set).
        ctx.status = 405;
        ctx.body = { error: { code: 'method_not_allowed', message: 'That method is not allowed here.' } };
      }
    } catch (err) {
      const appErr = err instanceof AppError ? err : (fromPgError(err) ?? httpError(err));
      if (appErr) {
        ctx.status = appErr.status;
        for (const [k, v] of Object.entries(appErr.headers)) ctx.set(k, v);
        ctx.body = { error: { code: appErr.code, message: appErr.message, ...(appErr.details ?? {}) } };
        if (appErr.status >= 500) log.error('request failed', { error_code: appErr.code });
        return;
      }
      ctx.status = 500;
      ctx.body = {
        error: { code: 'internal', message: 'Something went wrong on our side.', request_id: ctx.state.requestId },
      };
      log.error('unhandled error', errorFields(err));
    }
  };
}

/** http-errors thrown by Koa itself (e.g. ctx.throw, bad cookies) keep their 4xx status. */
function httpError(err: unknown): AppError | undefined {
  const e = err as { status?: unknown; expose?: unknown };
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new AppError(
      e.status,
      e.status === 413 ? 'payload_too_large' : 'bad_request',
      'The request could not be processed.',
    );
  }
  return undefined;
}

/**
 * Conservative security headers for API and pages, on every response: they are set before
 * the rest of the chain runs, so an error rendered by {@link errorHandler} (mounted inside
 * this one) or an unmatched route carries them too. A handler may still replace one (e.g. a
 * page with its own content-security-policy) with `ctx.set`.
 */
export function securityHeaders(deps: Deps) {
  return async (ctx: AppContext, next: Next) => {
    ctx.set('x-content-type-options', 'nosniff');
    ctx.set('referrer-policy', 'no-referrer');
    ctx.set('x-frame-options', 'DENY');
    ctx.set('cross-origin-opener-policy', 'same-origin');
    if (deps.config.secureCookies) ctx.set('strict-transport-security', 'max-age=31536000; includeSubDomains');
    ctx.set(
      'content-security-policy',
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; media-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    await next();
  };
}

const MAX_BODY = 64 * 1024;

/**
 * Reads JSON bodies for /api routes (64 KiB at most). A body must be `application/json`;
 * malformed JSON is 400 `invalid_json`. Paths in `rawPaths` keep their raw bytes in
 * `ctx.request.rawBody` (signed webhooks verify the exact bytes).
 */
export function jsonBody(rawPaths: readonly string[] = []) {
  return async (ctx: AppContext, next: Next) => {
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(ctx.method) || !ctx.path.startsWith('/api/')) return next();
    const raw = await readBody(ctx.req, rawPaths.includes(ctx.path) ? 1024 * 1024 : MAX_BODY);
    const req = ctx.request as Koa.Request & { rawBody?: Buffer; body?: unknown };
    req.rawBody = raw;
    if (rawPaths.includes(ctx.path)) return next();
    if (raw.length === 0) {
      req.body = {};
      return next();
    }
    if (!ctx.is('application/json'))
      throw new AppError(415, 'unsupported_media_type', 'Send the body as application/json.');
    try {
      req.body = JSON.parse(raw.toString('utf8')) as unknown;
    } catch {
      throw new AppError(400, 'invalid_json', 'The body is not valid JSON.');
    }
    return next();
  };
}

function readBody(req: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new AppError(413, 'payload_too_large', `The body is larger than ${limit} bytes.`));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => reject(new AppError(400, 'bad_request', 'The body could not be read.')));
  });
}

/** A private file download: attachment with its name, never cached, streamed when `body` is a stream. */
export function sendAttachment(
  ctx: AppContext,
  file: { contentType: string; filename: string; body: NodeJS.ReadableStream | Buffer | string; size?: number },
): void {
  ctx.type = file.contentType;
  ctx.attachment(file.filename);
  if (file.size !== undefined) ctx.length = file.size;
  ctx.set('cache-control', 'no-store');
  ctx.body = file.body;
}

/** The body as parsed by {@link jsonBody}. */
export function bodyOf(ctx: AppContext): unknown {
  return (ctx.request as Koa.Request & { body?: unknown }).body;
}

export type { AppState };
