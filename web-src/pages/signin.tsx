/** Sign in: email → emailed 6-digit code; an account pending deletion can be restored. */
import type { JSX } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { api, ApiError, messageOf } from '../ui/api.ts';
import { Message } from '../ui/components.tsx';
import { when } from '../ui/format.ts';

function nextTarget(): string {
  const next = new URLSearchParams(location.search).get('next');
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

/** The sign-in page. */
export function SignInPage(): JSX.Element {
  const [email, setEmail] = useState('');
  const [code, setCode] = useState('');
  const [sent, setSent] = useState(false);
  const [status, setStatus] = useState<JSX.Element | null>(null);
  const codeRef = useRef<HTMLInputElement>(null);
  const target = nextTarget();

  const sendCode = async (e: Event) => {
    e.preventDefault();
    try {
      await api('POST', '/api/auth/code', { email });
      setStatus(<Message kind="ok" text={`We sent a 6-digit code to ${email}. It expires in 10 minutes.`} />);
      setSent(true);
      setTimeout(() => codeRef.current?.focus(), 0);
    } catch (err) {
      setStatus(<Message text={messageOf(err)} />);
    }
  };

  const restore = async (token: unknown) => {
    try {
      await api('POST', '/api/auth/restore', { restore_token: token });
      location.href = target;
    } catch (err) {
      setStatus(<Message text={messageOf(err)} />);
    }
  };

  const verify = async (e: Event) => {
    e.preventDefault();
    try {
      // The time zone lets the account page tell this sign-in from others ("Berlin time zone").
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      await api('POST', '/api/auth/verify', { email, code: code.trim(), ...(zone ? { time_zone: zone } : {}) });
      location.href = target;
    } catch (err) {
      // An account being deleted: offer to restore it (docs/data-lifecycle.md).
      if (err instanceof ApiError && err.code === 'account_pending_deletion') {
        const purgeAt = typeof err.details.purge_at === 'string' ? err.details.purge_at : '';
        setStatus(
          <>
            <Message text={`This account will be deleted on ${when(purgeAt)}.`} />
            <button id="restore-account" onClick={() => void restore(err.details.restore_token)}>
              Restore my account
            </button>
          </>,
        );
      } else setStatus(<Message text={messageOf(err)} />);
    }
  };

  return (
    <>
      <h1>Sign in</h1>
      <p class="muted">No password: we email you a code.</p>
      <form id="email-form" onSubmit={(e) => void sendCode(e)}>
        <input
          type="email"
          name="email"
          id="email"
          required
          placeholder="you@example.com"
          autocomplete="email"
          aria-label="Email address"
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
        />
        <button type="submit">Email me a code</button>
      </form>
      <form id="code-form" hidden={!sent} onSubmit={(e) => void verify(e)}>
        <input
          ref={codeRef}
          name="code"
          id="code"
          inputMode="numeric"
          pattern="[0-9]{6}"
          maxLength={6}
          required
          placeholder="6-digit code"
          autocomplete="one-time-code"
          aria-label="6-digit code"
          value={code}
          onInput={(e) => setCode(e.currentTarget.value)}
        />
        <button type="submit">Sign in</button>
      </form>
      <div>{status}</div>
    </>
  );
}
