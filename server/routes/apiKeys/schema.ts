/** Request schemas for /api/orgs/:orgId/api-keys. */
import { z } from 'zod';
import { isPlainText } from '../../middleware/validate.ts';

export const keyRole = z.enum(['admin', 'member']);
export const createKeyBody = z
  .object({
    name: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(100)
      .refine(isPlainText, 'must be plain text without control characters'),
    role: keyRole,
    expires_at: z.iso.datetime({ offset: true }).nullable().optional(),
  })
  .strict();
export const keyParams = z.object({ orgId: z.uuid(), id: z.uuid() });
