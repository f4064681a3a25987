/** Who is signed in, and the top navigation that shows it. */
import type { JSX } from 'preact';
import { render } from 'preact';
import { api, ApiError } from './api.ts';

/** The signed-in user. */
export interface User {
  id: string;
  email: string;
  display_name?: string | null;
}

/** An organisation the user belongs to, with their role there. */
export interface Membership {
  id: string;
  name: string;
  role: 'owner' | 'admin' | 'member';
}

/** `GET /api/me`. */
export interface Me {
  user: User;
  memberships: Membership[];
}

/**
 * The signed-in user; a visitor who is not signed in is sent to /signin (and this never
 * resolves). Also fills the top navigation.
 * @throws ApiError for answers other than 401.
 */
export async function me(): Promise<Me> {
  try {
    const m = await api<Me>('GET', '/api/me');
    showNav(m.user);
    return m;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      location.href = '/signin?next=' + encodeURIComponent(location.pathname + location.search + location.hash);
      return new Promise<Me>(() => undefined);
    }
    throw e;
  }
}

function Nav(props: { user: User }): JSX.Element {
  const signOut = async () => {
    await api('POST', '/api/auth/logout');
    location.href = '/signin';
  };
  return (
    <>
      <a href="/" aria-current={location.pathname === '/' ? 'page' : undefined}>
        Sessions
      </a>
      <a href="/orgs" aria-current={location.pathname === '/orgs' ? 'page' : undefined}>
        Organizations
      </a>
      <a href="/account" aria-current={location.pathname === '/account' ? 'page' : undefined}>
        Account
      </a>
      <span class="right">{props.user.display_name || props.user.email}</span>
      <button class="secondary" id="signout" onClick={() => void signOut()}>
        Sign out
      </button>
    </>
  );
}

/** Renders the navigation for `user` into the page's `#nav`. */
export function showNav(user: User): void {
  const nav = document.getElementById('nav');
  if (nav) render(<Nav user={user} />, nav);
}
