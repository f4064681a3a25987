/**
 * `node sfu/main.ts`: a standalone SFU node (mediasoup workers + WebSocket signalling at
 * /sfu on SFU_PORT, /healthz and /metrics beside it). It shares DATABASE_URL and
 * SERVER_SECRET with the API, which owns migrations. SIGTERM: live rooms write out what
 * they captured (no chunk half-written), then the process exits.
 */
import { parseConfigOrExit } from '../server/core/config.ts';
import { configureLogger, log } from '../server/core/logger.ts';
import { exitOnSignals, exitStartupFailed } from '../server/core/process.ts';
import { Secrets } from '../server/core/crypto/secrets.ts';
import { openDatabase } from '../server/core/db/pool.ts';
import { derivedAppUrl } from '../server/core/db/migrate.ts';
import { createMetrics } from '../server/core/metrics.ts';
import { openStorage } from '../server/core/storage.ts';
import { withKeyReload } from '../server/core/keyring.ts';
import { startSfu } from './start.ts';
import { createOpsServer, listen } from '../server/core/opsServer.ts';

const config = parseConfigOrExit();
configureLogger(config.logLevel, config.logFormat);
if (!config.databaseUrl) {
  process.stderr.write('a standalone SFU needs DATABASE_URL (the API process migrates it)\n');
  process.exit(2);
}

try {
  const secrets = Secrets.load(config.serverSecret, config.dataDir);
  const db = openDatabase(
    config.databaseUrl,
    config.databaseAppUrl ?? derivedAppUrl(config.databaseUrl, secrets),
    config.databasePoolSize,
  );
  const metrics = createMetrics(secrets, { orgSeriesMax: config.metricsOrgSeriesMax });
  // A rotated local KEK (npm run keys:rotate) is picked up without a restart.
  const storage = withKeyReload(config, openStorage(config));
  const server = createOpsServer(metrics);
  const sfu = await startSfu(
    { ...config, sfu: { ...config.sfu, mode: 'on' } },
    { db, metrics, secrets, storage },
    server,
  );
  await listen(server, config.sfu.port, config.host);
  log.info('sfu listening', { port: config.sfu.port });
  exitOnSignals(async () => {
    server.close();
    // Live rooms write out what they captured (no chunk half-written) before the pool closes.
    await sfu?.close();
    storage.close();
    await db.close();
  });
} catch (err) {
  exitStartupFailed(err, 'sfu start-up');
}
