/**
 * `npm run migrate`: applies migrations and sql/ to DATABASE_URL (or the embedded
 * database under DATA_DIR) and exits. The API does the same at every start.
 */
import { parseConfig, ConfigError } from '../config.ts';
import { Secrets } from '../crypto/secrets.ts';
import { startEmbeddedPostgres } from './embedded.ts';
import { migrate } from './migrate.ts';
import { embeddedRolePasswords } from './roleSecrets.ts';

try {
  const config = parseConfig();
  const secrets = Secrets.load(config.serverSecret, config.dataDir);
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, secrets);
  try {
    await migrate({
      ownerUrl: config.databaseUrl ?? embedded!.url,
      appUrl: config.databaseAppUrl,
      secrets,
      // Embedded: each role's random password from its file in DATA_DIR/secrets.
      rolePasswords: config.databaseUrl ? undefined : embeddedRolePasswords(config.dataDir),
      log: (m) => process.stdout.write(`${m}\n`),
    });
    process.stdout.write('database is up to date\n');
  } finally {
    await embedded?.stop();
  }
} catch (err) {
  process.stderr.write(
    `${err instanceof ConfigError ? err.message : `migration failed: ${err instanceof Error ? err.message : String(err)}`}\n`,
  );
  process.exit(err instanceof ConfigError ? 2 : 1);
}
