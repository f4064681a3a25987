/**
 * The browser pages: small HTML shells served by the API; /static/app.js renders each page
 * from the JSON API. No inline script (the CSP forbids it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Router from '@koa/router';
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

/** A page shell: `page` selects the renderer in app.js; `data` becomes data-* attributes. */
export function shell(
  title: string,
  page: string,
  data: Record<string, string> = {},
  scripts: string[] = ['/static/app.js'],
): string {
  const attrs = Object.entries(data)
    .map(([k, v]) => ` data-${k}="${escapeHtml(v)}"`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · Recorder</title><link rel="stylesheet" href="/static/style.css"></head>
<body data-page="${escapeHtml(page)}"${attrs}>
<header><a class="brand" href="/">Recorder</a><nav id="nav"></nav></header>
<main id="main"><noscript>This page needs JavaScript.</noscript></main>
${scripts.map((s) => `<script type="module" src="${escapeHtml(s)}"></script>`).join('\n')}
</body></html>`;
}

/** The recording room: markup room.bundle.js drives (device check, join, host controls). */
export function roomShell(mode: 'host' | 'guest', sessionId: string, orgId: string): string {
  const data = { mode, session: sessionId, org: orgId };
  const attrs = Object.entries(data)
    .map(([k, v]) => ` data-${k}="${escapeHtml(v)}"`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Recording room · Recorder</title><link rel="stylesheet" href="/static/style.css"></head>
<body data-page="room"${attrs}>
<header><a class="brand" href="/">Recorder</a><nav><strong id="title">Recording room</strong><span id="rec-indicator" class="rec" hidden></span></nav></header>
<main id="main" class="room">
<p id="status" class="muted" role="status">Checking your microphone and camera…</p>
<section id="setup" class="card" hidden>
  <p id="name-row"><label>Your name <input id="display-name" maxlength="80" autocomplete="name"></label></p>
  <p><label>Microphone <select id="mic"></select></label> <label>Camera <select id="cam"></select></label></p>
  <p><button id="join">Join</button></p>
</section>
<section id="controls" hidden>
  <div id="host-controls" hidden><button id="start-rec">Start recording</button> <button id="stop-rec" class="secondary">Stop recording</button> <button id="end" class="danger">End session</button></div>
  <p><button id="leave" class="secondary">Leave</button></p>
  <h2>In this session</h2><ul id="peers" class="plain"></ul>
  <div class="videos"><video id="preview" autoplay muted playsinline></video><div id="remote"></div></div>
</section>
</main>
<script type="module" src="/static/room.bundle.js"></script>
</body></html>`;
}

export function webRoutes(deps: Deps): Router<AppState> {
  const r = new Router<AppState>();
  const page =
    (title: string, name: string, data: (ctx: AppContext) => Record<string, string> = () => ({})) =>
    (ctx: AppContext) => {
      ensureCsrfCookie(deps, ctx);
      ctx.type = 'html';
      ctx.set('cache-control', 'no-store');
      ctx.body = shell(title, name, data(ctx));
    };
  r.get('/', (ctx) => ctx.redirect(ctx.state.user ? '/orgs' : '/signin'));
  r.get('/signin', page('Sign in', 'signin'));
  r.get('/account', page('Your account', 'account'));
  r.get('/orgs', page('Organizations', 'orgs'));
  r.get(
    '/orgs/:orgId',
    page('Organization', 'org', (ctx) => ({ org: ctx.params.orgId ?? '' })),
  );
  r.get(
    '/orgs/:orgId/audit',
    page('Audit log', 'audit', (ctx) => ({ org: ctx.params.orgId ?? '' })),
  );
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
    page('Session', 'session', (ctx) => ({ org: ctx.params.orgId ?? '', session: ctx.params.id ?? '' })),
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
