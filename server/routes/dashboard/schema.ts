/** Request schemas for the dashboard's routes (docs/dashboard-api.md). */
import { z } from 'zod';

export const orgParams = z.object({ orgId: z.uuid() });

/** A date (00:00 UTC) or a date-time with an offset, as a Date. */
const instant = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })])
  .transform((s) => new Date(s.length === 10 ? `${s}T00:00:00Z` : s));

const auditFilterShape = {
  action: z
    .string()
    .regex(/^[a-z][a-z0-9_.]{0,63}$/, 'is not an action name')
    .optional(),
  actor: z.union([z.uuid(), z.email().max(254)]).optional(),
  from: instant.optional(),
  to: instant.optional(),
};

const fromBeforeTo = (q: { from?: Date | undefined; to?: Date | undefined }) =>
  q.from === undefined || q.to === undefined || q.from < q.to;

export const auditEventsQuery = z
  .object({
    ...auditFilterShape,
    order: z.enum(['asc', 'desc']).default('asc'),
    after: z
      .string()
      .regex(/^\d{1,18}$/, 'is not a cursor')
      .optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict()
  .refine(fromBeforeTo, { message: 'from must be before to', path: ['to'] });

export const auditDownloadQuery = z
  .object({ ...auditFilterShape, format: z.enum(['csv', 'jsonl']) })
  .strict()
  .refine(fromBeforeTo, { message: 'from must be before to', path: ['to'] });

export const usageQuery = z.object({ months: z.coerce.number().int().min(1).max(24).default(6) }).strict();

export const homeQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }).strict();

export const invitationParams = z.object({ orgId: z.uuid(), id: z.uuid() });

/** days: a retention to try (1–36500), or `none` (keep until deleted); omitted: the current one. */
export const retentionPreviewQuery = z
  .object({ days: z.union([z.literal('none'), z.coerce.number().int().min(1).max(36500)]).optional() })
  .strict();
