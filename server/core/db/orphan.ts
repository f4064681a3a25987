/**
 * An embedded Postgres left running by a killed `npm start` (`kill -9` takes Node down, not
 * the postmaster it spawned). On the next start the data folder is locked and the port
 * taken. This finds that postmaster through `postmaster.pid` and, when the process that
 * started it is gone, stops it with a fast shutdown (SIGINT: Postgres aborts open
 * transactions and writes a clean checkpoint; no data written by committed transactions
 * is lost). When its parent is alive, it is another running instance: that is an error
 * with the fix, never a silent takeover.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Thrown when the embedded database's folder is in use by a live instance. */
export class EmbeddedInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedInUseError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user (the postgres user, when run as root).
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The parent pid of `pid` (Linux /proc), or undefined when unknown. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 4, after the parenthesised command name (which may contain spaces).
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

function commandOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/**
 * Stops the postmaster of `dataDir` when the process that started it is dead. Returns the
 * pid it stopped, or undefined when nothing was running (a stale pid file is Postgres's to
 * handle). @throws EmbeddedInUseError when a live process still owns it, or it will not stop.
 */
export async function stopOrphanedPostmaster(dataDir: string, waitMs = 30_000): Promise<number | undefined> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  let lines: string[];
  try {
    lines = fs.readFileSync(pidFile, 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  // The pid may have been reused by something else since: only a postgres serving this folder.
  const cmd = commandOf(pid);
  if (cmd && !(cmd.includes('postgres') && cmd.includes(dataDir))) return undefined;
  const ppid = parentOf(pid);
  if (ppid === undefined)
    throw new EmbeddedInUseError(
      `the embedded Postgres in ${dataDir} is already running (pid ${pid}) and its owner cannot be checked here; ` +
        `stop the other instance (or that postgres process) and start again`,
    );
  const owner = commandOf(ppid);
  if (ppid !== 1 && alive(ppid) && /\bnode\b|node$/.test(owner.split(' ')[0] ?? ''))
    throw new EmbeddedInUseError(
      `the embedded Postgres in ${dataDir} belongs to another running instance (node pid ${ppid}); ` +
        `stop it first, or give this one its own DATA_DIR`,
    );
  process.kill(pid, 'SIGINT');
  const until = Date.now() + waitMs;
  while (alive(pid)) {
    if (Date.now() > until)
      throw new EmbeddedInUseError(
        `the embedded Postgres left by a stopped instance (pid ${pid}, ${dataDir}) did not shut down in ${waitMs / 1000} s`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
  return pid;
}
