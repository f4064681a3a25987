/** Request schemas for recording sessions. */
import { z } from 'zod';

export const createSessionBody = z.object({ title: z.string().trim().min(1, 'must not be empty').max(200) }).strict();
export const sessionParams = z.object({ orgId: z.uuid(), id: z.uuid() });
export const trackParams = z.object({ orgId: z.uuid(), id: z.uuid(), trackId: z.uuid() });
export const displayName = z.string().trim().min(1, 'must not be empty').max(80);
/** Consent to be recorded: the version of the consent text the participant was shown. */
export const consentBody = z
  .object({ version: z.string().regex(/^[a-z0-9._-]{1,40}$/, 'is not a consent version') })
  .strict();
export const hostJoinBody = z
  .object({ display_name: displayName.optional(), consent: consentBody.optional() })
  .strict();
const guestToken = z.string().regex(/^[A-Za-z0-9_-]{20,100}$/, 'is not a guest link token');
export const guestJoinBody = z
  .object({
    session_id: z.uuid(),
    token: guestToken,
    display_name: displayName,
    consent: consentBody.optional(),
    /** The rejoin secret an earlier join returned: join again as the same participant. */
    rejoin: z.string().min(10).max(200).optional(),
  })
  .strict();
export const guestInfoBody = z.object({ session_id: z.uuid(), token: guestToken }).strict();
