/** Request schemas for /api/auth and /api/me. */
import { z } from 'zod';
import { isPlainText } from '../../middleware/validate.ts';
import { isTimeZone } from '../../../lib/userAgent.ts';

export const email = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: 'must be an email address' }));
export const requestCodeBody = z.object({ email }).strict();
export const verifyBody = z
  .object({
    email,
    code: z.string().regex(/^\d{6}$/, 'must be 6 digits'),
    /** The browser's IANA time zone (Intl.DateTimeFormat().resolvedOptions().timeZone), shown in the sign-in list. */
    time_zone: z.string().max(64).refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin').optional(),
  })
  .strict();
export const sessionIdParams = z.object({ id: z.uuid() });
export const updateMeBody = z
  .object({
    display_name: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .refine(isPlainText, 'must be plain text without control characters')
      .nullable(),
  })
  .strict();
