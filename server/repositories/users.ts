/** SQL for users (user-scoped, not a tenant table). */
import { one, type Queryable } from '../core/db/pool.ts';

export interface UserRow {
  id: string;
  email: string;
  display_name: string | null;
  created_at: Date;
  last_sign_in_at: Date | null;
}

const COLS = 'id, email, display_name, created_at, last_sign_in_at';

export function updateDisplayName(db: Queryable, id: string, name: string | null): Promise<UserRow> {
  return one<UserRow>(db, `update users set display_name = $2::text where id = $1::uuid returning ${COLS}`, [id, name]);
}
