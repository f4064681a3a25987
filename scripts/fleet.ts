/**
 * `npm run fleet -- <command>`: the operator's view of the SFU fleet (ops/runbooks/sfu-fleet.md).
 *
 *   list                 every node: state, alive, capacity, load, headroom, live sessions
 *   drain NODE_ID        the node takes no new session; within a second it moves its live
 *                        ones (recording stops cleanly, browsers reconnect to another node,
 *                        recording goes on there in the same take)
 *   activate NODE_ID     the node takes sessions again
 *   wait-drained NODE_ID waits until the node holds no live session (then stop it safely)
 *
 * Connects with DATABASE_URL (the owner), or to the embedded Postgres of a running
 * `npm start` on EMBEDDED_PG_PORT. The same is available over HTTP at /api/fleet/...
 * with FLEET_ADMIN_TOKEN. Exit 0 on success, 1 on a refusal, 2 on bad usage.
 */
import { parseConfig, ConfigError } from '../server/core/config.ts';
import { configureLogger } from '../server/core/logger.ts';
import { openDeps } from '../server/core/deps.ts';
import { raisedError } from '../server/core/errors.ts';
import { listNodes, setNodeState, type FleetNodeView } from '../server/services/fleet.ts';

const out = (line: string) => process.stdout.write(`${line}\n`);
const usage = (): never => {
  process.stderr.write('usage: npm run fleet -- list | drain NODE_ID | activate NODE_ID | wait-drained NODE_ID\n');
  process.exit(2);
};

const [command, nodeId] = process.argv.slice(2);
if (!command || !['list', 'drain', 'activate', 'wait-drained'].includes(command)) usage();
if (command !== 'list' && !nodeId) usage();

let config;
try {
  config = parseConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`fleet: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
configureLogger('silent', 'json');
const opened = await openDeps(config, { embedded: 'attach', poolSize: 2 });
const row = (n: FleetNodeView) =>
  [
    n.id.padEnd(24),
    n.state.padEnd(9),
    (n.alive ? 'alive' : 'dead').padEnd(6),
    `${n.load_tracks}/${n.capacity_tracks} tracks`.padEnd(18),
    `headroom ${n.headroom_tracks}`.padEnd(14),
    `${n.live_sessions} live`,
  ].join(' ');
let code = 0;
try {
  const deps = opened.deps;
  if (command === 'list') {
    const { nodes, headroom_ratio } = await listNodes(deps);
    for (const n of nodes) out(row(n));
    out(
      `fleet headroom: ${headroom_ratio === null ? 'no node takes sessions' : `${Math.round(headroom_ratio * 100)}%`}`,
    );
  } else if (command === 'wait-drained') {
    for (;;) {
      const n = (await listNodes(deps)).nodes.find((x) => x.id === nodeId);
      if (!n) throw new Error(`no such SFU node: ${nodeId}`);
      if (n.live_sessions === 0 || !n.alive) {
        out(`${nodeId}: no live session left`);
        break;
      }
      out(`${nodeId}: ${n.live_sessions} live session(s)…`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  } else {
    out(row(await setNodeState(deps, nodeId ?? '', command === 'drain' ? 'draining' : 'active')));
  }
} catch (err) {
  const refused = raisedError(err);
  process.stderr.write(`fleet: ${refused ? refused.message : err instanceof Error ? err.message : String(err)}\n`);
  code = 1;
} finally {
  await opened.close();
}
process.exit(code);
