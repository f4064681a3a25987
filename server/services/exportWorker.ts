/**
 * The worker thread of one export job (started by server/services/export.ts): streams the
 * org's archive (server/services/archive.ts) through age encryption into object storage.
 * It opens its own small app pool and storage from the parent's Config; the job row,
 * progress and audit stay with the parent, which writes them with its own clock. Progress
 * is a request the parent acknowledges, so the archive waits for each write as it did when
 * exports ran on the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Readable } from 'node:stream';
import { openDatabase } from '../core/db/pool.ts';
import { embeddedRolePasswords } from '../core/db/roleSecrets.ts';
import { openKeyedStorage } from '../core/deps.ts';
import { orgArchive, type ArchiveDeps } from './archive.ts';
import { ageEncrypt } from '../../lib/archive/ageStream.ts';
import { configureLogger } from '../core/logger.ts';
import {
  errorOf,
  serialize,
  type ExportWorkerData,
  type ExportWorkerMessage,
  type ExportParentMessage,
} from './exportProtocol.ts';

const port = parentPort;
if (!port) throw new Error('exportWorker.ts runs as a worker thread');
const data = workerData as ExportWorkerData;
configureLogger(data.config.logLevel, data.config.logFormat);

const post = (m: ExportWorkerMessage) => port.postMessage(m);
let acked: ((m: ExportParentMessage) => void) | undefined;
port.on('message', (m: ExportParentMessage) => acked?.(m));

async function report(sessionsDone: number, bytes: number): Promise<void> {
  const reply = await new Promise<ExportParentMessage>((resolve) => {
    acked = resolve;
    post({ type: 'progress', sessionsDone, bytes });
  });
  acked = undefined;
  if (reply.error) throw errorOf(reply.error);
}

// Embedded mode: the duty roles' passwords are files in DATA_DIR/secrets, as openDeps reads them.
const db = openDatabase(
  data.ownerUrl,
  data.appUrl,
  2,
  data.config.databaseUrl ? undefined : embeddedRolePasswords(data.config.dataDir),
);
// The same storage as openDeps gives every process (key reload, an org's own KMS key).
const storage = openKeyedStorage(data.config, db);
// The parent's clock as it read when the job started (tests move it by hand).
const clockOffsetMs = data.clockOffsetMs;
const deps: ArchiveDeps = { db, storage, clock: { now: () => new Date(Date.now() + clockOffsetMs) } };
const { job } = data;
try {
  let sessionsDone = 0;
  let bytes = 0;
  let lastReport = Date.now();
  const archive = orgArchive(deps, {
    orgId: job.orgId,
    userId: job.userId,
    exportId: job.id,
    onSession: async (n) => {
      sessionsDone = n;
      await report(sessionsDone, bytes);
      lastReport = Date.now();
    },
  });
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const b of ageEncrypt(archive, job.to)) {
      bytes += b.length;
      if (Date.now() - lastReport > 2000) {
        lastReport = Date.now();
        await report(sessionsDone, bytes);
      }
      yield b;
    }
  }
  await storage.objectStore.put(data.key, Readable.from(counted(), { objectMode: false }));
  post({ type: 'done', sessionsDone, bytes });
} catch (err) {
  post({ type: 'failed', error: serialize(err) });
} finally {
  storage.close();
  await db.close();
  // The port's 'message' listener would keep this thread alive.
  port.unref();
}
