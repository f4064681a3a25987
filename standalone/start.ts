/**
 * The one-process product (`npm start`, and every test through test/helpers/server.ts): the
 * API, the SFU on the API's HTTP server, the job worker and the lifecycle scheduler in one
 * Node process, over one set of dependencies opened by openDeps (embedded Postgres when
 * DATABASE_URL is unset). This is the composition root that may import all three sides.
 */
import type http from 'node:http';
import type { Config } from '../server/core/config.ts';
import type { Clock, Deps } from '../server/core/context.ts';
import { openDeps } from '../server/core/deps.ts';
import { startApi } from '../server/api.ts';
import { startBackground } from '../server/jobs/index.ts';
import { startSfu } from '../sfu/start.ts';

export interface Running {
  readonly deps: Deps;
  readonly server: http.Server;
  readonly url: string;
  /** Stops accepting, finishes in-flight requests, closes pools and the embedded database. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** The clock services read time through (tests move it by hand). Default the system clock. */
  readonly clock?: Clock;
}

/**
 * Starts everything `config` asks for: the SFU unless SFU=off (or SFU=auto without a worker
 * binary), the job worker unless JOBS=off, the lifecycle scheduler always.
 * @throws when a dependency cannot be opened, the port is taken, or SFU=on cannot start.
 */
export async function start(config: Config, opts: StartOptions = {}): Promise<Running> {
  const opened = await openDeps(config, { embedded: 'start', migrate: true, clock: opts.clock });
  const { deps } = opened;
  const api = await startApi(deps);
  // The SFU signals on the API's own origin (/sfu), and is a fleet node named after that port.
  const sfu = await startSfu(config, deps, api.server, { port: Number(new URL(api.url).port) || config.port });
  const background = await startBackground(deps, { queue: config.jobs.mode === 'on', scheduler: true });
  // Erased recordings: end a live room at once; their stored media goes now, not at the next sweep.
  deps.onSessionErased = async (sessionId) => {
    await sfu?.endRoom(sessionId);
    background.sweepErasedNow();
  };
  // The session page's End session closes the live room on this node for everyone.
  if (sfu) deps.live = { endRoom: (sessionId) => sfu.endSession(sessionId) };
  let closing: Promise<void> | undefined;
  return {
    deps,
    server: api.server,
    url: api.url,
    close() {
      closing ??= (async () => {
        await api.stopAccepting();
        // Live rooms finish writing what they captured before the database closes.
        await sfu?.close();
        // The scheduler finishes its sweep; running jobs are handed back to the queue.
        await background.stop();
        // A running export's worker thread is stopped (the sweep marks its job interrupted).
        await api.stopExports();
        await opened.close();
      })();
      return closing;
    },
  };
}
