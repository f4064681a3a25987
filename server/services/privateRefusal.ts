/** The one refusal every server-side reader of a private-mode recording gives. */
import { AppError } from '../core/errors.ts';

/**
 * 409 `private_session`: the session's key was re-wrapped to the organisation's private-mode
 * key, so nothing on the server can open it; the browser of a key holder can.
 */
export function privateSession(): AppError {
  return new AppError(
    409,
    'private_session',
    'This recording is in private mode: the server cannot open it. Unlock it with your private-mode passphrase on the session page; it is decrypted in your browser.',
  );
}
