/** Request schemas for /api/orgs/:orgId/webhooks. */
import { z } from 'zod';
import { WEBHOOK_EVENTS } from '../../../lib/webhooks/events.ts';

const url = z
  .string()
  .trim()
  .min(8)
  .max(2000)
  .regex(/^https?:\/\/[^\s]+$/i, 'must be an https:// URL');
const events = z
  .array(z.enum(WEBHOOK_EVENTS))
  .min(1, 'choose at least one event')
  .max(WEBHOOK_EVENTS.length)
  .transform((a) => [...new Set(a)]);

export const createEndpointBody = z.object({ url, events }).strict();
export const updateEndpointBody = z
  .object({ url: url.optional(), events: events.optional(), enabled: z.boolean().optional() })
  .strict()
  .refine((b) => b.url !== undefined || b.events !== undefined || b.enabled !== undefined, 'nothing to change');
export const endpointParams = z.object({ orgId: z.uuid(), id: z.uuid() });
export const deliveriesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z
    .string()
    .regex(/^\d{1,18}$/)
    .optional(),
});
