/** Transactional email texts. Plain text first; every link points at PUBLIC_URL. */
import type { Config } from '../config.ts';
import type { MailMessage } from './mailer.ts';

export function loginCodeEmail(config: Config, to: string, code: string): MailMessage {
  const minutes = Math.round(config.loginCodeTtlS / 60);
  return {
    to,
    subject: `Your sign-in code: ${code}`,
    text: `Your sign-in code is ${code}\n\nIt works once and expires in ${minutes} minutes.\nIf you did not ask for it, ignore this email.\n\n${config.publicUrl}\n`,
  };
}

export function invitationEmail(
  config: Config,
  to: string,
  orgName: string,
  inviterEmail: string,
  role: string,
  token: string,
): MailMessage {
  const link = `${config.publicUrl}/invite#token=${encodeURIComponent(token)}`;
  return {
    to,
    subject: `You are invited to ${orgName}`,
    text: `${inviterEmail} invited you to join ${orgName} as ${role}.\n\nAccept the invitation: ${link}\n\nSign in with this email address (${to}) to accept. The link expires in ${Math.round(config.invitationTtlS / 86400)} days.\n`,
  };
}
