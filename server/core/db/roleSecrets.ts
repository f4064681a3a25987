/**
 * Embedded mode's database passwords: one random password per role, each made once in its
 * own file under `<DATA_DIR>/secrets` (0600, in a 0700 folder) and reused on every start.
 * Nothing derives one from another, nor from SERVER_SECRET: a leaked API password opens
 * only the API role (issue 10, finding 1).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The login roles the product creates: the request path's and the duty roles (sql/099_duties.sql). */
export const EMBEDDED_LOGIN_ROLES = ['recorder_api', 'recorder_sfu', 'recorder_jobs', 'recorder_sweep'] as const;
export type EmbeddedLoginRole = (typeof EMBEDDED_LOGIN_ROLES)[number];

/** The file, under `<DATA_DIR>/secrets`, that holds a role's password. */
export function rolePasswordFile(role: string): string {
  return role === 'postgres' ? 'postgres-superuser-password' : `db-${role.replace(/_/g, '-')}-password`;
}

/**
 * A role's password from its file, made (32 random bytes, hex) when the file does not exist.
 * `created` says it was made by this call.
 * @throws when the folder cannot be made or the file holds something this product did not write.
 */
export function secretPassword(dataDir: string, role: string): { password: string; created: boolean } {
  const dir = path.join(dataDir, 'secrets');
  const file = path.join(dir, rolePasswordFile(role));
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  let created = false;
  try {
    fs.writeFileSync(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const password = fs.readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(password)) throw new Error(`${file} does not hold a password this product made`);
  return { password, created };
}

/** Every login role's password in embedded mode (made on first use). */
export function embeddedRolePasswords(dataDir: string): Record<EmbeddedLoginRole, string> {
  const out = {} as Record<EmbeddedLoginRole, string>;
  for (const role of EMBEDDED_LOGIN_ROLES) out[role] = secretPassword(dataDir, role).password;
  return out;
}

/** The API's connection URL in embedded mode: the owner's server and database, `recorder_api` with its own password. */
export function embeddedAppUrl(ownerUrl: string, password: string): string {
  const url = new URL(ownerUrl);
  url.username = 'recorder_api';
  url.password = password;
  return url.toString();
}
