/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): the `webhook-id`,
 * `webhook-timestamp` and `webhook-signature` headers of one delivery attempt.
 *
 * The signed content is `${id}.${timestamp}.${body}`; each signature is
 * `v1,` + base64(HMAC-SHA256(secret, content)), and several are separated by spaces (a
 * rotated-out secret keeps signing beside the new one for an overlap period, so a receiver
 * that still has the old one verifies too). Secrets are `whsec_` + base64 of 32 random bytes,
 * the form the reference libraries take.
 */
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

/**
 * The key bytes of a `whsec_…` secret.
 * @throws Error when the secret is not of that form.
 */
export function secretKey(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new Error('not a webhook secret');
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  if (key.length < 24 || key.length > 64) throw new Error('not a webhook secret');
  return key;
}

/** One `v1,` signature of `body` for the attempt `id` at `timestampS` (Unix seconds). */
export function signV1(secret: string, id: string, timestampS: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${id}.${timestampS}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/**
 * The three headers of one attempt, signed with every secret in `secrets` (current first).
 * @throws Error when `secrets` is empty or one is malformed.
 */
export function webhookHeaders(
  secrets: readonly string[],
  id: string,
  timestampS: number,
  body: string,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  if (secrets.length === 0) throw new Error('no signing secret');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampS),
    'webhook-signature': secrets.map((s) => signV1(s, id, timestampS, body)).join(' '),
  };
}
