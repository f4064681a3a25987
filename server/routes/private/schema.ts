/** Request schemas for private mode. */
import { z } from 'zod';
import { PBKDF2_MIN_ITERATIONS } from '../../../lib/private/crypto.ts';

const b64 = (min: number, max: number) =>
  z
    .string()
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'is not base64')
    .refine((s) => {
      const n = Math.floor((s.length * 3) / 4) - (s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0);
      return n >= min && n <= max;
    }, `must be ${min} to ${max} bytes`);

/** A key holder's passphrase-wrapped copy of the org private key (lib/private/crypto.ts WrappedOrgKey). */
export const wrappedOrgKey = z
  .object({
    v: z.literal(1),
    kdf: z.literal('pbkdf2-sha256'),
    iterations: z.number().int().min(PBKDF2_MIN_ITERATIONS).max(10_000_000),
    salt: b64(16, 64),
    nonce: b64(12, 12),
    ciphertext: b64(64, 1024),
  })
  .strict();
export type WrappedOrgKeyBody = z.infer<typeof wrappedOrgKey>;

export const enableBody = z
  .object({
    /** spki of an ECDH P-256 public key (91 bytes). */
    public_key: b64(91, 91),
    wrapped_private_key: wrappedOrgKey,
  })
  .strict();
export const myKeyBody = z.object({ wrapped_private_key: wrappedOrgKey }).strict();
export const orgParams = z.object({ orgId: z.uuid() });
export const holderParams = z.object({ orgId: z.uuid(), userId: z.uuid() });
export const sessionParams = z.object({ orgId: z.uuid(), id: z.uuid() });
export const transcriptParams = z.object({ orgId: z.uuid(), id: z.uuid(), runId: z.uuid() });
export const trackParams = z.object({ orgId: z.uuid(), id: z.uuid(), trackId: z.uuid() });
export const rangeQuery = z.object({
  from: z.coerce.number().int().min(0).max(2_000_000_000),
  count: z.coerce.number().int().min(1).max(64),
});
/** An ECIES record (lib/private/crypto.ts PrivateSessionKey): a grant of the org key. */
export const eciesRecord = z
  .object({
    v: z.literal(1),
    alg: z.literal('ecies-p256-hkdf-sha256-a256gcm'),
    epk: b64(65, 65),
    nonce: b64(12, 12),
    ciphertext: b64(64, 1024),
  })
  .strict();
export const requestBody = z.object({ public_key: b64(91, 91), wrapped_request_key: wrappedOrgKey }).strict();
export const grantBody = z.object({ public_key: b64(91, 91), grant: eciesRecord }).strict();
