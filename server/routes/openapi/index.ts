/** GET /api/openapi.json (the OpenAPI 3.1 document) and GET /docs/api (its reference page). */
import Router from '@koa/router';
import type { Deps } from '../../core/context.ts';
import type { AppState } from '../../context.ts';
import { buildDocument } from './document.ts';
import { referencePage } from './page.ts';
import { ROUTE_DOCS } from './all.ts';

export function openApiRoutes(deps: Deps): Router<AppState> {
  const r = new Router<AppState>();
  let doc: Record<string, unknown> | undefined;
  let html: string | undefined;
  const document = () => (doc ??= buildDocument(ROUTE_DOCS, deps.config.publicUrl));

  r.get('/api/openapi.json', (ctx) => {
    ctx.set('cache-control', 'no-cache');
    ctx.body = document();
  });

  r.get('/docs/api', (ctx) => {
    ctx.type = 'html';
    ctx.set('cache-control', 'no-cache');
    ctx.body = html ??= referencePage(document());
  });

  return r;
}
