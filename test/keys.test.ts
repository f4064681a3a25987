/**
 * Key providers with real crypto: the local KEK provider on a temporary folder, and the AWS
 * KMS provider through the real SDK against a loopback server speaking KMS's JSON protocol.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { InvalidCiphertextException } from '@aws-sdk/client-kms';
import {
  AwsKmsProvider,
  KeyError,
  kekId,
  LocalKeyProvider,
  parseWrappedKey,
  type KeyContext,
  type WrappedKey,
} from '../lib/keys/index.ts';
import { startFakeKms, TEST_CREDENTIALS, type FakeKms } from './helpers/kms-fake.ts';

const run = promisify(execFile);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-keys-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const dir = (name: string) => path.join(tmp, name, 'secrets');
const ctx = (): KeyContext => ({ organizationId: randomUUID(), sessionId: randomUUID() });

async function refused(p: Promise<unknown>, code: string): Promise<KeyError> {
  const err = await p.then(
    () => assert.fail(`expected ${code}, but it succeeded`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof KeyError, `expected a KeyError, got ${String(err)}`);
  assert.equal(err.code, code);
  return err;
}

describe('local key provider', () => {
  test('a data key round-trips and only its wrapped form leaves the provider', async () => {
    const p = LocalKeyProvider.open({ secretsDir: dir('roundtrip') });
    const c = ctx();
    const a = await p.generateDataKey(c);
    const b = await p.generateDataKey(c);
    assert.equal(a.plaintext.length, 32);
    assert.ok(!a.plaintext.equals(b.plaintext), 'each call gives a new key');
    assert.deepEqual(Object.keys(a.wrapped).sort(), ['ciphertext', 'keyId', 'provider', 'version']);
    assert.equal(a.wrapped.provider, 'local');
    assert.equal(a.wrapped.keyId, p.currentKeyId);
    assert.ok(!Buffer.from(a.wrapped.ciphertext, 'base64').includes(a.plaintext));
    assert.ok((await p.decrypt(a.wrapped, c)).equals(a.plaintext));
    // The record survives a trip through a database column as JSON.
    assert.ok((await p.decrypt(parseWrappedKey(JSON.stringify(a.wrapped)), c)).equals(a.plaintext));
  });

  test('the KEK file is created once, owner-only, and a restart unwraps old keys', async () => {
    const secrets = dir('kekfile');
    const p = LocalKeyProvider.open({ secretsDir: secrets });
    const file = path.join(secrets, `kek-${p.currentKeyId}`);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(secrets).mode & 0o777, 0o700);
    assert.equal(kekId(Buffer.from(fs.readFileSync(file, 'utf8'), 'base64')), p.currentKeyId);
    const c = ctx();
    const dk = await p.generateDataKey(c);
    const again = LocalKeyProvider.open({ secretsDir: secrets });
    assert.equal(again.currentKeyId, p.currentKeyId);
    assert.deepEqual(fs.readdirSync(secrets).sort(), ['kek-current', `kek-${p.currentKeyId}`].sort());
    assert.ok((await again.decrypt(dk.wrapped, c)).equals(dk.plaintext));
  });

  test('processes starting together agree on one KEK', async () => {
    const secrets = dir('race');
    const mod = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../lib/keys/LocalKeyProvider.ts');
    const script = `import { LocalKeyProvider } from ${JSON.stringify(mod)}; process.stdout.write(LocalKeyProvider.open({ secretsDir: ${JSON.stringify(secrets)} }).currentKeyId);`;
    const ids = await Promise.all(
      Array.from(
        { length: 6 },
        async () => (await run(process.execPath, ['--input-type=module', '-e', script])).stdout,
      ),
    );
    assert.equal(new Set(ids).size, 1, `all processes use one KEK: ${ids.join(' ')}`);
    assert.deepEqual(
      fs
        .readdirSync(secrets)
        .filter((n) => n.startsWith('kek-'))
        .sort(),
      ['kek-current', `kek-${ids[0]}`].sort(),
    );
  });

  test('a wrapped key does not open under another context, altered, or by a stranger', async () => {
    const p = LocalKeyProvider.open({ secretsDir: dir('refusals') });
    const c = ctx();
    const { wrapped } = await p.generateDataKey(c);
    await refused(p.decrypt(wrapped, { ...c, sessionId: randomUUID() }), 'key_unwrap_failed');
    await refused(p.decrypt(wrapped, { ...c, organizationId: randomUUID() }), 'key_unwrap_failed');
    await refused(
      p.decrypt(wrapped, { organizationId: c.sessionId, sessionId: c.organizationId }),
      'key_unwrap_failed',
    );
    const bytes = Buffer.from(wrapped.ciphertext, 'base64');
    for (const i of [0, 5, 20, bytes.length - 1]) {
      const bad = Buffer.from(bytes);
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      await refused(p.decrypt({ ...wrapped, ciphertext: bad.toString('base64') }, c), 'key_unwrap_failed');
    }
    await refused(p.decrypt({ ...wrapped, keyId: '0000000000000000' }, c), 'unknown_key');
    await refused(p.decrypt({ ...wrapped, provider: 'aws-kms' }, c), 'key_provider_mismatch');
    await refused(p.decrypt(wrapped, { organizationId: '', sessionId: 'x' }), 'invalid_key_context');
    const stranger = LocalKeyProvider.open({ secretsDir: dir('stranger') });
    await refused(stranger.decrypt(wrapped, c), 'unknown_key');
    assert.throws(() => parseWrappedKey('{"version":1,"provider":"local","keyId":"x","ciphertext":"not base64!"}'), {
      code: 'invalid_wrapped_key',
    });
  });

  test('an operator-given KEK writes no file and opens its keys anywhere', async () => {
    const kek = randomBytes(32);
    const secrets = dir('given');
    const p = LocalKeyProvider.open({ secretsDir: secrets, kek });
    assert.equal(p.currentKeyId, kekId(kek));
    assert.equal(fs.existsSync(secrets), false);
    const c = ctx();
    const dk = await p.generateDataKey(c);
    const elsewhere = LocalKeyProvider.open({ secretsDir: dir('given-elsewhere'), kek });
    assert.ok((await elsewhere.decrypt(dk.wrapped, c)).equals(dk.plaintext));
    assert.throws(() => LocalKeyProvider.open({ secretsDir: secrets, kek: randomBytes(16) }), /32 bytes/);
  });

  test('rewrap moves a key to the new KEK; chunks keep their data key', async () => {
    const secrets = dir('rotate');
    const old = LocalKeyProvider.open({ secretsDir: secrets });
    const c = ctx();
    const dk = await old.generateDataKey(c);
    const newKek = randomBytes(32);
    const rotated = LocalKeyProvider.open({ secretsDir: secrets, kek: newKek }); // old KEK file still unwraps
    const rewrapped = await rotated.rewrap(dk.wrapped, c);
    assert.equal(rewrapped.keyId, kekId(newKek));
    assert.notEqual(rewrapped.keyId, dk.wrapped.keyId);
    assert.ok((await rotated.decrypt(rewrapped, c)).equals(dk.plaintext));
    await refused(rotated.rewrap(dk.wrapped, { ...c, sessionId: randomUUID() }), 'key_unwrap_failed');
    // Once the old KEK is retired, only the re-wrapped record opens.
    const retired = LocalKeyProvider.open({ secretsDir: dir('rotate-retired'), kek: newKek });
    assert.ok((await retired.decrypt(rewrapped, c)).equals(dk.plaintext));
    await refused(retired.decrypt(dk.wrapped, c), 'unknown_key');
  });

  test('a KEK file readable by others is refused', () => {
    const secrets = dir('loose');
    const p = LocalKeyProvider.open({ secretsDir: secrets });
    fs.chmodSync(path.join(secrets, `kek-${p.currentKeyId}`), 0o644);
    assert.throws(() => LocalKeyProvider.open({ secretsDir: secrets }), /readable by others/);
  });
});

describe('AWS KMS provider (loopback KMS)', () => {
  let kms: FakeKms;
  let p: AwsKmsProvider;
  let deployArn: string;
  let byokArn: string;
  const orgB = randomUUID();
  const byok = new Map<string, string>([[orgB, 'org-b-key']]);
  before(async () => {
    kms = await startFakeKms();
    deployArn = kms.createKey('deploy-key');
    byokArn = kms.createKey('org-b-key');
    p = new AwsKmsProvider({
      keyId: 'deploy-key',
      region: kms.region,
      endpoint: kms.endpoint,
      credentials: TEST_CREDENTIALS,
      maxAttempts: 2,
      keyIdFor: (org) => byok.get(org),
    });
  });
  after(async () => {
    p.close();
    await kms.close();
  });

  test('GenerateDataKey and Decrypt carry the encryption context and round-trip', async () => {
    const c = ctx();
    const since = kms.calls.length;
    const dk = await p.generateDataKey(c);
    assert.equal(dk.plaintext.length, 32);
    assert.deepEqual(
      { provider: dk.wrapped.provider, keyId: dk.wrapped.keyId },
      { provider: 'aws-kms', keyId: deployArn },
    );
    assert.ok((await p.decrypt(dk.wrapped, c)).equals(dk.plaintext));
    assert.deepEqual(
      kms.calls.slice(since).map((x) => [x.target, x.keyId, x.encryptionContext]),
      [
        ['TrentService.GenerateDataKey', 'deploy-key', { organizationId: c.organizationId, sessionId: c.sessionId }],
        ['TrentService.Decrypt', deployArn, { organizationId: c.organizationId, sessionId: c.sessionId }],
      ],
    );
  });

  test('a wrong encryption context is refused by KMS (InvalidCiphertextException)', async () => {
    const c = ctx();
    const { wrapped } = await p.generateDataKey(c);
    const err = await refused(p.decrypt(wrapped, { ...c, sessionId: randomUUID() }), 'key_unwrap_failed');
    assert.ok(err.cause instanceof InvalidCiphertextException, `cause: ${String(err.cause)}`);
    await refused(p.decrypt(wrapped, { ...c, organizationId: randomUUID() }), 'key_unwrap_failed');
    const local = await LocalKeyProvider.open({ secretsDir: dir('kms-mismatch') }).generateDataKey(c);
    await refused(p.decrypt(local.wrapped, c), 'key_provider_mismatch');
  });

  test("an organisation's own key wraps its data keys", async () => {
    const c = { organizationId: orgB, sessionId: randomUUID() };
    const dk = await p.generateDataKey(c);
    assert.equal(dk.wrapped.keyId, byokArn);
    assert.equal(kms.calls.at(-1)?.keyId, 'org-b-key');
    assert.ok((await p.decrypt(dk.wrapped, c)).equals(dk.plaintext));
    // A record claiming the deployment key is refused: KMS checks the key the blob names.
    await refused(p.decrypt({ ...dk.wrapped, keyId: deployArn }, c), 'key_unwrap_failed');
  });

  test('rewrap re-encrypts inside KMS onto the current key for the organisation', async () => {
    const c = ctx();
    const dk = await p.generateDataKey(c);
    const newArn = kms.createKey('org-new-key');
    byok.set(c.organizationId, 'org-new-key');
    const moved = await p.rewrap(dk.wrapped, c);
    assert.equal(moved.keyId, newArn);
    assert.equal(kms.calls.at(-1)?.target, 'TrentService.ReEncrypt');
    assert.ok((await p.decrypt(moved, c)).equals(dk.plaintext));
  });

  test('a disabled key and an outage are told apart', async () => {
    const c = ctx();
    const temp = kms.createKey('short-lived');
    byok.set(c.organizationId, 'short-lived');
    const { wrapped } = await p.generateDataKey(c);
    assert.equal(wrapped.keyId, temp);
    kms.disableKey('short-lived');
    await refused(p.decrypt(wrapped, c), 'key_access_denied');
    kms.failNext(5);
    await refused(p.generateDataKey(ctx()), 'key_provider_unavailable');
    kms.failNext(0);
    const unreachable = new AwsKmsProvider({
      keyId: 'deploy-key',
      region: kms.region,
      endpoint: 'http://127.0.0.1:9',
      credentials: TEST_CREDENTIALS,
      maxAttempts: 1,
    });
    await refused(unreachable.generateDataKey(ctx()), 'key_provider_unavailable');
    unreachable.close();
  });

  test('a forged or truncated blob does not open', async () => {
    const c = ctx();
    const { wrapped }: { wrapped: WrappedKey } = await p.generateDataKey(c);
    const blob = Buffer.from(wrapped.ciphertext, 'base64');
    await refused(
      p.decrypt({ ...wrapped, ciphertext: blob.subarray(0, blob.length - 1).toString('base64') }, c),
      'key_unwrap_failed',
    );
    blob[blob.length - 5] = (blob[blob.length - 5] ?? 0) ^ 0x80;
    await refused(p.decrypt({ ...wrapped, ciphertext: blob.toString('base64') }, c), 'key_unwrap_failed');
  });
});
