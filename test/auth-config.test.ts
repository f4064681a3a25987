// A deployment behind https with no SMTP configured: cookies carry Secure, links point at
// PUBLIC_URL, and mail is written to <DATA_DIR>/outbox instead of being sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { recipients } from './helpers/smtp.ts';
import type { HttpClient } from './helpers/http.ts';
import { codeIn, inviteLinkIn, freshEmail, getMe } from './helpers/api.ts';

const PUBLIC_URL = 'https://recorder.example.com';
let ts: TestServer;
let outbox: string;

before(async () => {
  // An empty value counts as unset: this server has no SMTP server at all.
  ts = await startTestServer({ PUBLIC_URL, SMTP_URL: '' });
  outbox = path.join(ts.dataDir, 'outbox');
});
after(() => ts.close());

/** Waits for an .eml file in the outbox addressed to `to` that is not in `seen`. */
async function outboxMail(to: string, seen: Set<string>): Promise<ParsedMail> {
  for (let i = 0; i < 250; i++) {
    for (const file of fs.existsSync(outbox) ? fs.readdirSync(outbox).sort() : []) {
      if (seen.has(file) || !file.endsWith('.eml')) continue;
      const mail = await simpleParser(fs.readFileSync(path.join(outbox, file)));
      if (!recipients(mail).includes(to)) continue;
      seen.add(file);
      assert.equal(fs.statSync(path.join(outbox, file)).mode & 0o077, 0, 'outbox files are private to the server user');
      return mail;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no outbox mail to ${to}`);
}

const seen = new Set<string>();

async function signInByOutbox(email: string): Promise<{ c: HttpClient; setCookies: string[] }> {
  const c = ts.client();
  assert.equal((await c.post('/api/auth/code', { email })).status, 202);
  const code = codeIn(await outboxMail(email, seen));
  const v = await c.post('/api/auth/verify', { email, code });
  assert.equal(v.status, 200, v.text);
  return { c, setCookies: v.headers.getSetCookie() };
}

test('with no SMTP_URL, the sign-in code is written to <DATA_DIR>/outbox and works', async () => {
  const email = freshEmail('outbox');
  const { c } = await signInByOutbox(email);
  assert.equal((await getMe(c)).body.user.email, email);
  assert.equal(ts.inbox.messages.length, 0, 'nothing went to an SMTP server');
  assert.ok(
    ts.logs.some((l) => l.includes('outbox')),
    'the start-up log says where mail goes',
  );
});

test('with an https PUBLIC_URL both cookies are Secure, and HSTS is sent', async () => {
  const { c, setCookies } = await signInByOutbox(freshEmail('secure'));
  const sid = setCookies.find((s) => s.startsWith('sid='));
  const csrf = setCookies.find((s) => s.startsWith('csrf_token='));
  assert.ok(sid && csrf, setCookies.join(' | '));
  for (const cookie of [sid, csrf]) assert.match(cookie, /;\s*secure/i, cookie);
  assert.match(sid, /;\s*httponly/i);
  assert.match(sid, /;\s*samesite=lax/i);
  const res = await c.get('/api/me');
  assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
  const page = await ts.client().get('/signin');
  const pageCsrf = page.headers.getSetCookie().find((s) => s.startsWith('csrf_token='));
  assert.ok(pageCsrf && /;\s*secure/i.test(pageCsrf), 'the CSRF cookie set by a page is Secure too');
});

test('invitation links point at PUBLIC_URL, with the token in the fragment', async () => {
  const { c } = await signInByOutbox(freshEmail('inviter'));
  const org = await c.post('/api/orgs', { name: 'Outbox Org' });
  assert.equal(org.status, 201);
  const guest = freshEmail('guest');
  assert.equal(
    (await c.post(`/api/orgs/${String(org.body.id)}/invitations`, { email: guest, role: 'member' })).status,
    201,
  );
  const { link, token } = inviteLinkIn(await outboxMail(guest, seen));
  assert.ok(link.startsWith(`${PUBLIC_URL}/invite#`), link);
  const { c: g } = await signInByOutbox(guest);
  const accepted = await g.post('/api/invitations/accept', { token });
  assert.equal(accepted.status, 200, accepted.text);
  assert.equal(accepted.body.organization_id, org.body.id);
});
