/**
 * Lifecycle emails: an org's deletion scheduled, cancelled, a day away and done (to its
 * owners), and an account's deletion requested. Plain text; links point at PUBLIC_URL.
 * Sent after commit, never from inside a transaction.
 */
import type { Config } from '../core/config.ts';
import type { MailMessage } from '../core/mail/mailer.ts';
import type { CertificateView } from './certificates.ts';

const day = (d: Date) => d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

/** Every owner learns that the org will be deleted, when, and how to stop it. */
export function orgDeletionScheduledEmail(
  config: Config,
  to: string,
  orgName: string,
  by: string,
  dueAt: Date,
): MailMessage {
  return {
    to,
    subject: `${orgName} will be deleted on ${day(dueAt)}`,
    text:
      `${by} scheduled the organization "${orgName}" for deletion.\n\n` +
      `Until ${day(dueAt)} the organization is read-only and any owner can cancel the deletion under Settings:\n${config.publicUrl}/\n\n` +
      `After that every recording and transcript is erased (their keys are destroyed, so nothing can be decrypted again), ` +
      `members are removed, and the audit log is kept without the organization for up to 12 months.\n` +
      `Export everything first if you need a copy.\n`,
  };
}

/** A day before: the last chance to cancel. */
export function orgDeletionReminderEmail(config: Config, to: string, orgName: string, dueAt: Date): MailMessage {
  return {
    to,
    subject: `Reminder: ${orgName} will be deleted on ${day(dueAt)}`,
    text: `The organization "${orgName}" will be deleted on ${day(dueAt)}, in less than a day.\n\nTo keep it, an owner can cancel the deletion now:\n${config.publicUrl}/\n`,
  };
}

/** The deletion was cancelled. */
export function orgDeletionCancelledEmail(config: Config, to: string, orgName: string, by: string): MailMessage {
  return {
    to,
    subject: `${orgName} will not be deleted`,
    text: `${by} cancelled the scheduled deletion of "${orgName}". Nothing was erased and the organization is writable again.\n\n${config.publicUrl}/\n`,
  };
}

/** Done: with the signed certificate of what was erased. */
export function orgDeletedEmail(config: Config, to: string, orgName: string, cert: CertificateView): MailMessage {
  return {
    to,
    subject: `${orgName} was deleted`,
    text:
      `The organization "${orgName}" was deleted. Every recording key was erased, so its recordings and transcripts ` +
      `can no longer be decrypted by anyone, and its stored media was removed.\n\n` +
      `Deletion certificate (verify the signature with the public key at ${cert.public_key_url}; see the documentation):\n\n` +
      `${JSON.stringify({ certificate: cert.certificate, signature: cert.signature, algorithm: cert.algorithm }, null, 2)}\n`,
  };
}

/** The account holder learns when the account goes and how to keep it. */
export function accountDeletionEmail(config: Config, to: string, dueAt: Date): MailMessage {
  return {
    to,
    subject: 'Your account will be deleted',
    text:
      `You asked us to delete your account. You have been signed out everywhere.\n\n` +
      `The account and your memberships will be removed for good on ${day(dueAt)}. Until then you can keep it: ` +
      `sign in again with this address and choose "Restore my account".\n\n${config.publicUrl}/\n`,
  };
}

/** The export someone asked for is ready to download (until it expires). */
export function exportReadyEmail(
  config: Config,
  to: string,
  orgName: string,
  orgId: string,
  expiresAt: Date,
): MailMessage {
  return {
    to,
    subject: `Your export of ${orgName} is ready`,
    text:
      `The export of "${orgName}" you asked for is ready.\n\n` +
      `Download it from the organization's Export page until ${day(expiresAt)}; after that it is deleted:\n` +
      `${config.publicUrl}/orgs/${orgId}/export\n\n` +
      `It is encrypted to the key or passphrase you gave; decrypt it with age (age-encryption.org).\n`,
  };
}

/** The export someone asked for failed; they can start another. */
export function exportFailedEmail(
  config: Config,
  to: string,
  orgName: string,
  orgId: string,
  code: string,
): MailMessage {
  return {
    to,
    subject: `Your export of ${orgName} failed`,
    text: `The export of "${orgName}" you asked for did not finish (${code}). You can start another from the organization's Export page:\n${config.publicUrl}/orgs/${orgId}/export\n`,
  };
}
