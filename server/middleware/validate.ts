/** zod validation of bodies, params and query strings, with one stable 400 shape. */
import type { z } from 'zod';
import { badRequest } from '../errors.ts';

/**
 * Parses `value` with `schema`. @throws AppError 400 `invalid_input` naming each bad field.
 */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const fields = r.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', problem: i.message }));
    throw badRequest('invalid_input', `Invalid input: ${fields.map((f) => `${f.field}: ${f.problem}`).join('; ')}`, { fields });
  }
  return r.data;
}
