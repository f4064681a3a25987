/**
 * Renders the database's refusal to write to an organisation scheduled for deletion (the
 * `org_read_only` trigger of sql/070_lifecycle.sql) as 423 `org_pending_deletion`, whichever
 * route ran into it. Mounted in app.ts inside the error middleware.
 */
import type { AppContext } from '../context.ts';
import { pendingDeletionError } from '../services/orgDeletion.ts';

type Next = () => Promise<unknown>;

function isPendingDeletion(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err as { code?: unknown }).code === 'P0001' &&
    err.message.startsWith('org_pending_deletion:')
  );
}

/** Koa middleware: a write refused by the read-only trigger becomes 423. */
export function orgPendingDeletionErrors() {
  return async (_ctx: AppContext, next: Next) => {
    try {
      await next();
    } catch (err) {
      if (isPendingDeletion(err)) throw pendingDeletionError();
      throw err;
    }
  };
}
