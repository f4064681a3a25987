/**
 * Entry of the plain pages (everything but the studio): the server's HTML shell names the
 * page in `<body data-page>` and its ids in data-* attributes; this renders that page into
 * `#main` with Preact. Bundled by esbuild into /static/app.bundle.js (server/web/bundle.ts).
 */
import type { JSX } from 'preact';
import { render } from 'preact';
import { SignInPage } from './pages/signin.tsx';
import { OrgsPage } from './pages/orgs.tsx';
import { OrgPage } from './pages/org.tsx';
import { AuditPage } from './pages/audit.tsx';
import { AccountPage } from './pages/account.tsx';
import { SessionsPage } from './pages/sessions.tsx';
import { SessionPage } from './pages/session.tsx';
import { InvitePage } from './pages/invite.tsx';
import { HomePage } from './pages/home.tsx';
import { UsagePage } from './pages/usage.tsx';
import { SettingsPage } from './pages/settings.tsx';
import { ExportPage } from './pages/export.tsx';
import { BillingPage } from './pages/billing.tsx';
import { NotFoundPage } from './pages/notfound.tsx';
import { IntegrationsPage } from './pages/integrations.tsx';

const data = document.body.dataset;
const org = data.org ?? '';

const PAGES: Record<string, () => JSX.Element> = {
  signin: () => <SignInPage />,
  orgs: () => <OrgsPage />,
  org: () => <OrgPage orgId={org} />,
  audit: () => <AuditPage orgId={org} />,
  account: () => <AccountPage />,
  sessions: () => <SessionsPage orgId={org} />,
  session: () => <SessionPage orgId={org} sessionId={data.session ?? ''} />,
  invite: () => <InvitePage />,
  home: () => <HomePage />,
  usage: () => <UsagePage orgId={org} />,
  settings: () => <SettingsPage orgId={org} />,
  export: () => <ExportPage orgId={org} />,
  billing: () => <BillingPage orgId={org} />,
  notfound: () => <NotFoundPage />,
  integrations: () => <IntegrationsPage orgId={org} />,
};

const main = document.getElementById('main');
if (main) {
  main.replaceChildren();
  const page = PAGES[data.page ?? ''];
  render(page ? page() : <NotFoundPage />, main);
}
