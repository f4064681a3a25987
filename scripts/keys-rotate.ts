/**
 * `npm run keys:rotate -- [options]`: the operator's key rotation (docs/data-lifecycle.md,
 * ops/runbooks/key-rotation.md). Re-wraps stored session data keys in batches
 * (KeyProvider.rewrap); no chunk is rewritten and no key is unreadable at any point. Runs
 * beside the live API/SFU/jobs processes: they pick up a new local KEK by themselves.
 *
 *   --status                 how many data keys each KEK / KMS key protects, then exit
 *   --new-kek                local: create a new KEK, make it current, re-wrap every key
 *   (no option)              local: re-wrap every key not under the current KEK (resume)
 *   --from-key ID            aws-kms: move keys wrapped under KMS key ID onto the current
 *                            key (AWS_KMS_KEY_ID, or the org's own key)
 *   --org UUID --to-kms-key ARN   aws-kms: the org brings its own KMS key; its keys move onto it
 *   --save-kek-from-stdin    local: store a previous LOCAL_KEK (base64 on stdin) as a KEK
 *                            file, so keys it wrapped keep opening after LOCAL_KEK changes
 *   --batch-size N (100)  --pause-ms N (0)  --concurrency N (4)
 *
 * Connects with DATABASE_URL (the owner), or to the embedded Postgres of a running
 * `npm start` on EMBEDDED_PG_PORT. Old KEK files are never deleted here: remove one when
 * --status shows it protects nothing. Exit 0 when every selected key moved, 1 otherwise.
 */
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { parseConfig, ConfigError } from '../server/core/config.ts';
import { configureLogger } from '../server/core/logger.ts';
import { withUser } from '../server/core/db/pool.ts';
import { openDeps } from '../server/core/deps.ts';
import { currentLocalKeyId } from '../server/core/keyring.ts';
import {
  createNextLocalKek,
  keyUsage,
  rewrapAll,
  saveLocalKek,
  type RewrapOptions,
} from '../server/services/keyRotation.ts';
import { setOrgKmsKey } from '../server/repositories/lifecycle.ts';
import { rewrapWebhookKeys, webhookKeyUsage } from '../server/services/webhookKeyRotation.ts';

const out = (line: string) => process.stdout.write(`${line}\n`);
const fail = (line: string): never => {
  process.stderr.write(`keys:rotate: ${line}\n`);
  process.exit(2);
};

const { values: opt } = parseArgs({
  options: {
    status: { type: 'boolean', default: false },
    'new-kek': { type: 'boolean', default: false },
    'from-key': { type: 'string' },
    org: { type: 'string' },
    'to-kms-key': { type: 'string' },
    'save-kek-from-stdin': { type: 'boolean', default: false },
    'batch-size': { type: 'string', default: '100' },
    'pause-ms': { type: 'string', default: '0' },
    concurrency: { type: 'string', default: '4' },
  },
  strict: true,
});

let config;
try {
  config = parseConfig();
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  throw err;
}
configureLogger('silent', 'json');
const num = (name: 'batch-size' | 'pause-ms' | 'concurrency', min: number) => {
  const n = Number(opt[name]);
  if (!Number.isInteger(n) || n < min || n > 100_000) fail(`--${name} must be an integer from ${min}`);
  return n;
};
const batchSize = num('batch-size', 1);
const pauseMs = num('pause-ms', 0);
const concurrency = num('concurrency', 1);
const secretsDir = path.join(config.dataDir, 'secrets');
const local = config.keys.provider === 'local';

if (opt['save-kek-from-stdin']) {
  if (!local) fail('--save-kek-from-stdin is for KEY_PROVIDER=local');
  out(`saved KEK ${saveLocalKek(secretsDir, fs.readFileSync(0, 'utf8'))} (it keeps unwrapping keys it wrapped)`);
  process.exit(0);
}
if (local && (opt['from-key'] || opt['to-kms-key'])) fail('--from-key and --to-kms-key are for KEY_PROVIDER=aws-kms');
if (!local && opt['new-kek'])
  fail('--new-kek is for KEY_PROVIDER=local; with AWS KMS set AWS_KMS_KEY_ID to the new key and use --from-key');
if (!!opt.org !== !!opt['to-kms-key']) fail('--org and --to-kms-key go together');
if (!local && !opt.status && !opt['from-key'] && !opt['to-kms-key'])
  fail('with AWS KMS say what moves: --from-key ID, or --org UUID --to-kms-key ARN');
if (opt.org && !/^[0-9a-f-]{36}$/i.test(opt.org)) fail('--org must be an organization id');

// A new KEK is made current before the key provider opens, so every re-wrap goes under it.
let newKek: string | undefined;
if (local && opt['new-kek'] && !opt.status) {
  if (config.keys.provider === 'local' && config.keys.localKek)
    fail(
      'LOCAL_KEK is set: save the old one with --save-kek-from-stdin, set the new LOCAL_KEK, restart, then run without --new-kek',
    );
  newKek = createNextLocalKek(secretsDir);
  out(`new KEK ${newKek} is current; the previous ones stay until no key needs them`);
}
// The owner pool does the re-wrapping; the storage is the one every process opens.
const opened = await openDeps(config, { embedded: 'attach', poolSize: 2 });
const { db, storage } = opened.deps;

async function printUsage(): Promise<void> {
  const usage = await keyUsage(db.owner);
  out('wrapped data keys by key:');
  for (const u of usage) out(`  ${u.provider}  ${u.key_id}  ${u.sessions}`);
  const hooks = await webhookKeyUsage({ pool: db.owner });
  if (hooks.length) out('webhook endpoint keys by key:');
  for (const u of hooks) out(`  ${u.provider}  ${u.key_id}  ${u.endpoints}`);
  if (local) {
    const current = fs.existsSync(path.join(secretsDir, 'kek-current'))
      ? fs.readFileSync(path.join(secretsDir, 'kek-current'), 'utf8').trim()
      : '(LOCAL_KEK)';
    const used = new Set([...usage, ...hooks].map((u) => u.key_id));
    for (const f of fs.readdirSync(secretsDir).filter((n) => /^kek-[0-9a-f]{16}$/.test(n))) {
      const id = f.slice(4);
      if (id !== current && !used.has(id))
        out(`  ${f} protects nothing any more: it can be removed (keep it in backups until they age out)`);
    }
  }
}

let code = 0;
try {
  if (opt.status) {
    await printUsage();
  } else {
    let targetKey: string | null = newKek ?? null;
    if (opt.org && opt['to-kms-key']) {
      const org = opt.org;
      const key = opt['to-kms-key'];
      await withUser(db.owner, null, (tx) => setOrgKmsKey(tx, org, key));
      targetKey = key;
      out(`organization ${org} now uses KMS key ${key}`);
    }
    if (local) targetKey ??= currentLocalKeyId(storage.keyProvider) ?? null;
    const started = Date.now();
    // The same selection for session keys and webhook endpoint keys.
    const which: RewrapOptions = {
      pool: db.owner,
      keyProvider: storage.keyProvider,
      provider: config.keys.provider,
      targetKey,
      fromKey: opt['from-key'] ?? null,
      org: opt.org ?? null,
      batchSize,
    };
    const r = await rewrapAll({
      ...which,
      pauseMs,
      concurrency,
      onBatch: (p) => out(`  re-wrapped ${p.moved}, skipped ${p.skipped}, failed ${p.failed}`),
    });
    const h = await rewrapWebhookKeys(which);
    out(`re-wrapped ${h.moved} webhook endpoint key(s); ${h.skipped} changed meanwhile; ${h.failed} failed`);
    out(
      `re-wrapped ${r.moved} data key(s) in ${((Date.now() - started) / 1000).toFixed(1)} s (${r.passes} pass(es)); ${r.skipped} changed meanwhile; ${r.failed} failed`,
    );
    await printUsage();
    if (r.failed + h.failed > 0) {
      out(
        'some keys could not be re-wrapped (see above); fix the cause and run again: the old key must stay until then',
      );
      code = 1;
    }
  }
} finally {
  await opened.close();
}
process.exit(code);
