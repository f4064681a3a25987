/**
 * The browser pages: small HTML shells served by the API; the bundles built from web-src/
 * (server/web/bundle.ts) render each page from the JSON API.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Router from '@koa/router';
import type Koa from 'koa';
import type { Deps } from '../core/context.ts';
import type { AppContext, AppState } from '../context.ts';
import { ensureCsrfCookie } from '../middleware/auth.ts';

const STATIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'static');
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A page shell: `page` selects the page web-src/app.tsx (or the studio) renders into
 * `#main`; `data` becomes data-* attributes. No inline script (the CSP forbids it).
 */
export function shell(
  title: string,
  page: string,
  data: Record<string, string> = {},
  scripts: string[] = ['/static/app.bundle.js'],
  mainClass = '',
): string {
  const attrs = Object.entries(data)
    .map(([k, v]) => ` data-${k}="${escapeHtml(v)}"`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · Recorder</title><link rel="stylesheet" href="/static/app.bundle.css"></head>
<body data-page="${escapeHtml(page)}"${attrs}>
<header class="topbar"><a class="brand" href="/">Recorder</a><nav id="nav" aria-label="Main"></nav></header>
<main id="main"${mainClass ? ` class="${escapeHtml(mainClass)}"` : ''}><p class="loading" role="status">Loading…</p><noscript>This page needs JavaScript.</noscript></main>
${scripts.map((s) => `<script type="module" src="${escapeHtml(s)}"></script>`).join('\n')}
</body></html>`;
}

/** The studio (green room and room) for a host or a guest; web-src/studio/main.tsx renders it. */
export function roomShell(mode: 'host' | 'guest', sessionId: string, orgId: string): string {
  return shell('Recording room', 'room', { mode, session: sessionId, org: orgId }, ['/static/room.bundle.js'], 'wide');
}

export function webRoutes(deps: Deps): Router<AppState> {
  const r = new Router<AppState>();
  const page =
    (title: string, name: string, data: (ctx: AppContext) => Record<string, string> = () => ({}), wide = false) =>
    (ctx: AppContext) => {
      ensureCsrfCookie(deps, ctx);
      ctx.type = 'html';
      ctx.set('cache-control', 'no-store');
      // Billing on or off is known to the page without a request to a billing route.
      ctx.body = shell(title, name, { billing: billingFlag, ...data(ctx) }, undefined, wide ? 'wide' : '');
    };
  const billingFlag = deps.config.billing ? 'on' : 'off';
  const inOrg = (ctx: AppContext) => ({ org: ctx.params.orgId ?? '' });
  const home = page('Home', 'home');
  r.get('/', (ctx) => (ctx.state.user ? home(ctx) : ctx.redirect('/signin')));
  r.get('/signin', page('Sign in', 'signin'));
  r.get('/account', page('Your account', 'account'));
  r.get('/orgs', page('Organizations', 'orgs'));
  r.get(
    '/orgs/:orgId',
    page('Organization', 'org', (ctx) => ({ org: ctx.params.orgId ?? '' })),
  );
  r.get('/orgs/:orgId/audit', page('Audit log', 'audit', inOrg));
  r.get('/orgs/:orgId/usage', page('Usage', 'usage', inOrg));
  r.get('/orgs/:orgId/settings', page('Settings', 'settings', inOrg));
  r.get('/orgs/:orgId/export', page('Export', 'export', inOrg));
  r.get('/orgs/:orgId/billing', page('Billing', 'billing', inOrg));
  r.get('/orgs/:orgId/integrations', page('Integrations', 'integrations', inOrg));
  r.get('/invite', page('Invitation', 'invite'));
  // Browsers ask for it on every page; an empty answer keeps a 404 out of their consoles.
  r.get('/favicon.ico', (ctx) => {
    ctx.status = 204;
    ctx.set('cache-control', 'public, max-age=86400');
  });
  r.get(
    '/orgs/:orgId/sessions',
    page('Sessions', 'sessions', (ctx) => ({ org: ctx.params.orgId ?? '' })),
  );
  r.get(
    '/orgs/:orgId/sessions/:id',
    page('Session', 'session', (ctx) => ({ org: ctx.params.orgId ?? '', session: ctx.params.id ?? '' }), true),
  );
  const room = (mode: 'host' | 'guest') => (ctx: AppContext) => {
    ensureCsrfCookie(deps, ctx);
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    // The room needs the camera and microphone of this origin.
    ctx.set('permissions-policy', 'camera=(self), microphone=(self)');
    ctx.body = roomShell(mode, ctx.params.id ?? ctx.params.sessionId ?? '', ctx.params.orgId ?? '');
  };
  r.get('/orgs/:orgId/sessions/:id/room', room('host'));
  r.get('/join/:sessionId', room('guest'));

  r.get('/static/:file', async (ctx) => {
    const file = ctx.params.file ?? '';
    if (!/^[a-z0-9._-]+$/i.test(file)) return;
    const full = path.join(STATIC_DIR, file);
    const type = TYPES[path.extname(file)];
    if (!type) return;
    try {
      ctx.body = await fs.promises.readFile(full);
      ctx.type = type;
      ctx.set('cache-control', 'no-cache');
    } catch {
      // falls through to 404
    }
  });
  return r;
}

/**
 * The 404 page: a GET for a page that no router answered gets the page shell (a heading,
 * links home) with status 404 instead of a bare "Not Found". API paths keep their JSON 404.
 * Mounted last in server/app.ts.
 */
export function notFoundPage(deps: Deps): Koa.Middleware<AppState> {
  return async (ctx, next) => {
    await next();
    if (ctx.method !== 'GET' || ctx.status !== 404 || ctx.body != null) return;
    if (ctx.path.startsWith('/api/') || ctx.path.startsWith('/static/')) return;
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = shell('Page not found', 'notfound', { billing: deps.config.billing ? 'on' : 'off' });
    ctx.status = 404;
  };
}
