/** SQL for users (user-scoped, not a tenant table). */
import { maybeOne, one, type Queryable } from '../core/db/pool.ts';

export interface UserRow {
  id: string;
  email: string;
  display_name: string | null;
  created_at: Date;
  last_sign_in_at: Date | null;
}

const COLS = 'id, email, display_name, created_at, last_sign_in_at';

export function findUserById(db: Queryable, id: string): Promise<UserRow | undefined> {
  return maybeOne<UserRow>(db, `select ${COLS} from users where id = $1::uuid`, [id]);
}

/** Returns the user with this email, creating it on first sign-in. */
export function upsertUserByEmail(db: Queryable, email: string): Promise<UserRow> {
  return one<UserRow>(
    db,
    `insert into users (email, last_sign_in_at) values ($1::text, now())
     on conflict (email) do update set last_sign_in_at = now()
     returning ${COLS}`,
    [email],
  );
}

export function updateDisplayName(db: Queryable, id: string, name: string | null): Promise<UserRow> {
  return one<UserRow>(db, `update users set display_name = $2::text where id = $1::uuid returning ${COLS}`, [id, name]);
}
