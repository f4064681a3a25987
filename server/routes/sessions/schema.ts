/** Request schemas for recording sessions. */
import { z } from 'zod';

export const createSessionBody = z.object({ title: z.string().trim().min(1, 'must not be empty').max(200) }).strict();
export const sessionParams = z.object({ orgId: z.uuid(), id: z.uuid() });
export const trackParams = z.object({ orgId: z.uuid(), id: z.uuid(), trackId: z.uuid() });
export const displayName = z.string().trim().min(1, 'must not be empty').max(80);
export const hostJoinBody = z.object({ display_name: displayName.optional() }).strict();
export const guestJoinBody = z
  .object({
    session_id: z.uuid(),
    token: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/, 'is not a guest link token'),
    display_name: displayName,
  })
  .strict();
