/** The 404 page: says so plainly and offers the way home (the server answers it with status 404). */
import type { JSX } from 'preact';
import { useEffect } from 'preact/hooks';
import { api } from '../ui/api.ts';
import { showNav, type Me } from '../ui/session.tsx';

/** The page-not-found page. */
export function NotFoundPage(): JSX.Element {
  // Fill the navigation for a signed-in visitor; a visitor who is not signed in stays here.
  useEffect(() => {
    api<Me>('GET', '/api/me').then(
      (m) => showNav(m.user),
      () => undefined,
    );
  }, []);
  return (
    <div class="notfound">
      <p class="code" aria-hidden="true">
        404
      </p>
      <h1>Page not found</h1>
      <p class="muted">
        There is nothing at <code>{location.pathname}</code>. The link may be old, or the address mistyped.
      </p>
      <p class="row center">
        <a class="btn" href="/">
          Go to your sessions
        </a>
        <a class="btn secondary" href="/orgs">
          Your organizations
        </a>
      </p>
    </div>
  );
}
