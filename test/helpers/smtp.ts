/** A real SMTP server on loopback (smtp-server) that keeps every message it receives. */
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';

export interface Inbox {
  url: string;
  messages: ParsedMail[];
  /** Waits for the next message to `to` that arrived after `since` messages. */
  waitFor(to: string, opts?: { since?: number; timeoutMs?: number; subject?: RegExp }): Promise<ParsedMail>;
  close(): Promise<void>;
}

export function recipients(m: ParsedMail): string[] {
  const to = Array.isArray(m.to) ? m.to : m.to ? [m.to] : [];
  return to.flatMap((a) => a.value.map((v) => (v.address ?? '').toLowerCase()));
}

export async function startSmtp(): Promise<Inbox> {
  const messages: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((m) => {
          messages.push(m);
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async waitFor(to, opts = {}) {
      const deadline = Date.now() + (opts.timeoutMs ?? 5000);
      const want = to.toLowerCase();
      for (;;) {
        const found = messages
          .slice(opts.since ?? 0)
          .find((m) => recipients(m).includes(want) && (!opts.subject || opts.subject.test(m.subject ?? '')));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no mail to ${to} within the time limit`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
