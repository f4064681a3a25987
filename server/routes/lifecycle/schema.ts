/** Request schemas for the data-lifecycle endpoints. */
import { z } from 'zod';
import { X25519_RECIPIENT } from '../../../lib/archive/ageStream.ts';
import { isPlainText } from '../../middleware/validate.ts';

export const orgParams = z.object({ orgId: z.uuid() });
export const sessionParams = z.object({ orgId: z.uuid(), id: z.uuid() });
export const exportParams = z.object({ orgId: z.uuid(), id: z.uuid() });

/** retention_days: null keeps recordings until deleted; else 1 to 36500 days. */
export const retentionBody = z.object({ retention_days: z.number().int().min(1).max(36500).nullable() }).strict();

/** The org's exact name, typed to confirm. */
export const scheduleDeletionBody = z.object({ confirm_name: z.string().min(1).max(100) }).strict();

/** The account's email address, typed to confirm. */
export const deleteAccountBody = z.object({ confirm_email: z.string().trim().min(3).max(254) }).strict();

export const restoreBody = z
  .object({ restore_token: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/, 'is not a restore token') })
  .strict();

/** Exactly one of: an age X25519 recipient (`age1…`), or a passphrase of 12 to 200 characters. */
export const exportBody = z
  .object({
    recipient: z
      .string()
      .trim()
      .regex(X25519_RECIPIENT, 'must be an age X25519 recipient (age1…, as age-keygen prints it)')
      .optional(),
    passphrase: z
      .string()
      .min(12, 'must be at least 12 characters')
      .max(200)
      .refine(isPlainText, 'must be plain text without control characters')
      .optional(),
  })
  .strict()
  .refine((b) => (b.recipient === undefined) !== (b.passphrase === undefined), {
    message: 'give either recipient or passphrase',
    path: ['recipient'],
  });
