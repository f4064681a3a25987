/** Request schemas for /api/orgs and /api/invitations. */
import { z } from 'zod';
import { email } from '../auth/schema.ts';
import { isPlainText } from '../../middleware/validate.ts';

export const role = z.enum(['owner', 'admin', 'member']);
export const orgName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(100)
  .refine(isPlainText, 'must be plain text without control characters');
export const createOrgBody = z.object({ name: orgName }).strict();
export const updateOrgBody = z.object({ name: orgName }).strict();
export const memberParams = z.object({ orgId: z.uuid(), userId: z.uuid() });
export const changeRoleBody = z.object({ role }).strict();
export const inviteBody = z.object({ email, role: role.default('member') }).strict();
export const invitationParams = z.object({ orgId: z.uuid(), id: z.uuid() });
export const invitationsQuery = z.object({ include_expired: z.enum(['true', 'false']).optional() });
export const acceptBody = z
  .object({ token: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/, 'is not an invitation token') })
  .strict();
export const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z
    .string()
    .regex(/^\d{1,18}$/)
    .optional(),
});
