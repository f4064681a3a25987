/** Request schemas for /api/orgs/:orgId/billing. */
import { z } from 'zod';

export const checkoutBody = z
  .object({
    plan: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'is not a plan id'),
    seats: z.number().int('must be a whole number').min(1).max(10000),
  })
  .strict();

export const portalBody = z.object({}).strict();
