/**
 * Outgoing mail through nodemailer: to the SMTP server named by SMTP_URL, or, with none
 * configured, as .eml files in `<DATA_DIR>/outbox` (the start-up log names the folder).
 * Message content never reaches the log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import { log, errorFields } from '../logger.ts';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface Mailer {
  /** Where mail goes, for the start-up log: `smtp://host:port` or the outbox folder. */
  readonly destination: string;
  /** Sends and resolves when the server accepted the message. @throws on delivery failure. */
  send(message: MailMessage): Promise<void>;
  /** Sends without waiting; a failure is logged (without content) and counted. */
  sendInBackground(message: MailMessage, kind: string): void;
  /** Waits for mail still being sent in the background (requests already promised it), then closes. */
  close(): Promise<void>;
}

/** Builds the mailer for SMTP_URL, or the outbox mailer when it is unset. */
export function createMailer(
  smtpUrl: string | undefined,
  from: string,
  dataDir: string,
  onFailure?: (kind: string) => void,
): Mailer {
  let destination: string;
  let transport: Transporter;
  let outbox: string | undefined;
  if (smtpUrl) {
    const u = new URL(smtpUrl);
    destination = `${u.protocol}//${u.hostname}:${u.port || (u.protocol === 'smtps:' ? 465 : 587)}`;
    transport = nodemailer.createTransport(smtpUrl);
  } else {
    outbox = path.join(dataDir, 'outbox');
    fs.mkdirSync(outbox, { recursive: true, mode: 0o700 });
    destination = outbox;
    transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  }
  const send = async (m: MailMessage): Promise<void> => {
    const info = (await transport.sendMail({
      from,
      to: m.to,
      subject: m.subject,
      text: m.text,
      ...(m.html ? { html: m.html } : {}),
    })) as { message?: Buffer };
    if (outbox && info.message) {
      const file = path.join(outbox, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID()}.eml`);
      await fs.promises.writeFile(file, info.message, { mode: 0o600 });
    }
  };
  const pending = new Set<Promise<void>>();
  return {
    destination,
    send,
    sendInBackground(m, kind) {
      const p = send(m)
        .catch((err: unknown) => {
          onFailure?.(kind);
          log.error('mail delivery failed', { event: kind, ...errorFields(err) });
        })
        .finally(() => pending.delete(p));
      pending.add(p);
    },
    async close() {
      await Promise.allSettled([...pending]);
      transport.close();
    },
  };
}
