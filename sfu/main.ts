/**
 * `node sfu/main.ts`: a standalone SFU node (mediasoup workers + WebSocket signalling at
 * /sfu on SFU_PORT, /healthz and /metrics beside it). It shares DATABASE_URL and
 * SERVER_SECRET with the API, which owns migrations. SIGTERM: live rooms write out what
 * they captured (no chunk half-written), then the process exits.
 */
import os from 'node:os';
import { parseConfigOrExit } from '../server/core/config.ts';
import { configureLogger, log } from '../server/core/logger.ts';
import { exitOnSignals, exitStartupFailed } from '../server/core/process.ts';
import { openDeps } from '../server/core/deps.ts';
import { createOpsServer, listen } from '../server/core/opsServer.ts';
import { startSfu } from './start.ts';

const config = parseConfigOrExit();
configureLogger(config.logLevel, config.logFormat);
if (!config.databaseUrl) {
  process.stderr.write('a standalone SFU needs DATABASE_URL (the API process migrates it)\n');
  process.exit(2);
}

try {
  const opened = await openDeps(config);
  const { deps } = opened;
  const server = createOpsServer(deps.metrics);
  // Without SFU_PUBLIC_URL, browsers are sent to this node's own address (right on one host;
  // behind a proxy or on several hosts set SFU_PUBLIC_URL per node).
  const host = config.host === '0.0.0.0' || config.host === '::' ? os.hostname() : config.host;
  const sfu = await startSfu({ ...config, sfu: { ...config.sfu, mode: 'on' } }, deps, server, {
    port: config.sfu.port,
    defaultSignalUrl: `ws://${host.includes(':') ? `[${host}]` : host}:${config.sfu.port}/sfu`,
  });
  await listen(server, config.sfu.port, config.host);
  log.info('sfu listening', { port: config.sfu.port });
  exitOnSignals(async () => {
    server.close();
    // Live rooms write out what they captured (no chunk half-written) before the pool closes.
    await sfu?.close();
    await opened.close();
  });
} catch (err) {
  exitStartupFailed(err, 'sfu start-up');
}
