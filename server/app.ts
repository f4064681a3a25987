/**
 * Builds the Koa application from its dependencies. No I/O happens here: main.ts (or a
 * test) owns start-up, listening and shutdown.
 */
import Koa from 'koa';
import type Router from '@koa/router';
import type { Deps } from './core/context.ts';
import type { AppState } from './context.ts';
import { requestLifecycle, errorHandler, securityHeaders, jsonBody } from './middleware/core.ts';
import { sessionLoader } from './middleware/auth.ts';
import { authRoutes } from './routes/auth/index.ts';
import { orgRoutes } from './routes/orgs/index.ts';
import { systemRoutes } from './routes/system/index.ts';
import { webRoutes } from './web/pages.ts';
import { orgPendingDeletionErrors } from './middleware/orgPendingDeletion.ts';

export interface AppOptions {
  /** Extra routers (features that mount their own routes). */
  routers?: Router<AppState>[];
  /** Paths whose request bodies are kept raw (signed webhooks). */
  rawBodyPaths?: string[];
}

export function createApp(deps: Deps, opts: AppOptions = {}): Koa<AppState> {
  const app = new Koa<AppState>();
  app.proxy = deps.config.trustProxy;
  // Koa's default logger prints errors with their messages; ours does it without content.
  app.silent = true;
  app.use(requestLifecycle(deps));
  // Headers first: error responses (rendered by errorHandler, inside it) carry them too.
  app.use(securityHeaders(deps));
  app.use(errorHandler());
  app.use(jsonBody(opts.rawBodyPaths ?? []));
  app.use(sessionLoader(deps));
  // Writes refused because the org is scheduled for deletion: 423 (sql/070_lifecycle.sql).
  app.use(orgPendingDeletionErrors());
  for (const router of [
    systemRoutes(deps),
    authRoutes(deps),
    orgRoutes(deps),
    ...(opts.routers ?? []),
    webRoutes(deps),
  ]) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: false }));
  }
  return app;
}
