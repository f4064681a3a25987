/**
 * Builds the Koa application from its dependencies and mounts every router: this is the one
 * place routes are listed. No I/O happens here: server/api.ts (or a test) owns billing
 * start-up, listening and shutdown.
 */
import Koa from 'koa';
import type { Deps } from './core/context.ts';
import type { AppState } from './context.ts';
import { requestLifecycle, errorHandler, securityHeaders, jsonBody } from './middleware/core.ts';
import { sessionLoader } from './middleware/auth.ts';
import { authRoutes } from './routes/auth/index.ts';
import { orgRoutes } from './routes/orgs/index.ts';
import { systemRoutes } from './routes/system/index.ts';
import { billingRoutes } from './routes/billing/index.ts';
import { sessionRoutes } from './routes/sessions/index.ts';
import { sessionArchiveRoutes } from './routes/sessions/archive.ts';
import { transcriptRoutes } from './routes/transcripts/index.ts';
import { lifecycleRoutes } from './routes/lifecycle/index.ts';
import { dashboardRoutes } from './routes/dashboard/index.ts';
import { webhookRoutes } from './routes/webhooks/index.ts';
import { privateModeRoutes } from './routes/private/index.ts';
import { STRIPE_WEBHOOK_PATH, type Billing } from './billing/stripe.ts';
import { webRoutes, notFoundPage } from './web/pages.ts';
import { apiKeyRoutes } from './routes/apiKeys/index.ts';
import { openApiRoutes } from './routes/openapi/index.ts';
import { fleetRoutes } from './routes/fleet/index.ts';

export interface AppOptions {
  /** The started Stripe client (server/billing/stripe.ts startBilling), or undefined when billing is off. */
  billing?: Billing;
}

/** The Koa app with every middleware and router mounted; signed webhooks keep their raw body. */
export function createApp(deps: Deps, opts: AppOptions = {}): Koa<AppState> {
  const app = new Koa<AppState>();
  app.proxy = deps.config.trustProxy;
  // Koa's default logger prints errors with their messages; ours does it without content.
  app.silent = true;
  app.use(requestLifecycle(deps));
  // Headers first: error responses (rendered by errorHandler, inside it) carry them too.
  app.use(securityHeaders(deps));
  app.use(errorHandler());
  app.use(jsonBody([STRIPE_WEBHOOK_PATH]));
  app.use(sessionLoader(deps));
  for (const router of [
    systemRoutes(deps),
    authRoutes(deps),
    orgRoutes(deps),
    billingRoutes(deps, opts.billing),
    sessionRoutes(deps),
    sessionArchiveRoutes(deps),
    transcriptRoutes(deps),
    lifecycleRoutes(deps),
    dashboardRoutes(deps, opts.billing),
    webhookRoutes(deps),
    apiKeyRoutes(deps),
    openApiRoutes(deps),
    fleetRoutes(deps),
    privateModeRoutes(deps),
    webRoutes(deps),
  ]) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: false }));
  }
  app.use(notFoundPage(deps));
  return app;
}
