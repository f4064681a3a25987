/** zod validation of bodies, params and query strings, with one stable 400 shape. */
import type { z } from 'zod';
import { badRequest } from '../core/errors.ts';

/**
 * Parses `value` with `schema`. @throws AppError 400 `invalid_input` naming each bad field.
 */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const fields = r.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', problem: i.message }));
    throw badRequest('invalid_input', `Invalid input: ${fields.map((f) => `${f.field}: ${f.problem}`).join('; ')}`, {
      fields,
    });
  }
  return r.data;
}

/**
 * True when `s` is text a person could type: no control characters (NUL cannot even be
 * stored in Postgres text) and no lone UTF-16 surrogates (not encodable as UTF-8). Use as
 * `z.string().refine(isPlainText, 'must be plain text without control characters')` on free text.
 */
export function isPlainText(s: string): boolean {
  return !/\p{Cc}|\p{Cs}/u.test(s);
}
