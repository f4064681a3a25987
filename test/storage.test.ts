/**
 * Object stores: one behaviour suite run against the local folder store and against the S3
 * store (real @aws-sdk/client-s3) talking to a loopback S3, then what is particular to each,
 * and the wiring from configuration (server/core/storage.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { LocalObjectStore } from '../lib/storage/LocalObjectStore.ts';
import { S3ObjectStore } from '../lib/storage/S3ObjectStore.ts';
import { StorageError, type ObjectStore } from '../lib/storage/ObjectStore.ts';
import { S3_CREDENTIALS, startFakeS3, type FakeS3 } from './helpers/s3-fake.ts';
import { startFakeKms, TEST_CREDENTIALS } from './helpers/kms-fake.ts';
import { kekId } from '../lib/keys/index.ts';
import { ConfigError, parseConfig } from '../server/core/config.ts';
import { openStorage } from '../server/core/storage.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-storage-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function keys(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out;
}

async function fails(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof StorageError && e.code === code);
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** A stream that yields `parts` and then fails, like a client that disconnects. */
function brokenStream(parts: Buffer[]): Readable {
  return Readable.from(
    (async function* () {
      yield* parts;
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('client went away');
    })(),
  );
}

function behaviour(name: string, open: () => ObjectStore) {
  describe(`${name} object store`, () => {
    let store: ObjectStore;
    before(() => {
      store = open();
    });
    after(() => store.close?.());

    test('put, get, overwrite and delete', async () => {
      const body = randomBytes(20_000);
      await store.put('org1/sess1/track1/000001.chunk', body);
      assert.ok((await store.get('org1/sess1/track1/000001.chunk')).equals(body));
      await store.put('org1/sess1/track1/000001.chunk', Buffer.from('replaced'));
      assert.equal((await store.get('org1/sess1/track1/000001.chunk')).toString(), 'replaced');
      await store.delete('org1/sess1/track1/000001.chunk');
      await fails(store.get('org1/sess1/track1/000001.chunk'), 'object_not_found');
      await fails(store.getStream('org1/sess1/track1/000001.chunk'), 'object_not_found');
      await store.delete('org1/sess1/track1/000001.chunk'); // deleting twice is fine
      await store.put('empty', Buffer.alloc(0));
      assert.equal((await store.get('empty')).length, 0);
    });

    test('streams in and out', async () => {
      const parts = Array.from({ length: 40 }, () => randomBytes(1000));
      await store.put('streams/a.bin', Readable.from(parts));
      assert.ok((await collect(await store.getStream('streams/a.bin'))).equals(Buffer.concat(parts)));
      assert.ok((await store.get('streams/a.bin')).equals(Buffer.concat(parts)));
    });

    test('a failed stream leaves no object', async () => {
      await assert.rejects(
        store.put('streams/broken.bin', brokenStream([randomBytes(3000), randomBytes(3000)])),
        /client went away/,
      );
      await fails(store.get('streams/broken.bin'), 'object_not_found');
      assert.deepEqual(await keys(store, 'streams/broken'), []);
    });

    test('list is a plain string prefix, in byte order, with sizes', async () => {
      for (const k of ['ls/a/b/1', 'ls/a/b/10', 'ls/a/b/2', 'ls/a/bc', 'ls/a-c', 'ls/a.d'])
        await store.put(k, Buffer.from(k));
      assert.deepEqual(await keys(store, 'ls/a/b'), ['ls/a/b/1', 'ls/a/b/10', 'ls/a/b/2', 'ls/a/bc']);
      assert.deepEqual(await keys(store, 'ls/a/b/'), ['ls/a/b/1', 'ls/a/b/10', 'ls/a/b/2']);
      assert.deepEqual(await keys(store, 'ls/'), ['ls/a-c', 'ls/a.d', 'ls/a/b/1', 'ls/a/b/10', 'ls/a/b/2', 'ls/a/bc']);
      assert.deepEqual(await keys(store, 'ls/zzz'), []);
      const sizes: Record<string, number> = {};
      for await (const o of store.list('ls/a/b/1')) sizes[o.key] = o.size;
      assert.deepEqual(sizes, { 'ls/a/b/1': 8, 'ls/a/b/10': 9 });
    });

    test('deletePrefix removes exactly the matching objects', async () => {
      for (let i = 0; i < 7; i++) await store.put(`del/s1/t/${i}.chunk`, Buffer.of(i));
      await store.put('del/s10/t/0.chunk', Buffer.of(1));
      await store.put('del/s2/t/0.chunk', Buffer.of(2));
      assert.equal(await store.deletePrefix('del/s1/'), 7);
      assert.deepEqual(await keys(store, 'del/'), ['del/s10/t/0.chunk', 'del/s2/t/0.chunk']);
      assert.equal(await store.deletePrefix('del/s1/'), 0);
      await fails(store.deletePrefix(''), 'invalid_object_key');
      assert.equal((await keys(store, 'del/')).length, 2);
    });

    test('unsafe keys are refused before anything is touched', async () => {
      for (const bad of [
        '../escape',
        'a/../../escape',
        '/abs',
        'a//b',
        '.hidden',
        'a/.',
        'a/..',
        '',
        'a\\b',
        'a b',
        'a\u0000b',
        'é',
        'x/'.repeat(300),
      ]) {
        await fails(store.put(bad, Buffer.of(1)), 'invalid_object_key');
        await fails(store.get(bad), 'invalid_object_key');
        await fails(store.delete(bad), 'invalid_object_key');
      }
      await fails(keys(store, '../'), 'invalid_object_key');
      await fails(store.deletePrefix('a/../'), 'invalid_object_key');
    });
  });
}

behaviour('local', () => new LocalObjectStore({ root: path.join(tmp, 'behaviour', 'objects') }));

let fake: FakeS3;
before(async () => {
  fake = await startFakeS3(['recordings'], 3);
});
after(() => fake.close());
const s3 = (opts: { partSize?: number; bucket?: string } = {}) =>
  new S3ObjectStore({
    bucket: opts.bucket ?? 'recordings',
    region: 'eu-west-1',
    endpoint: fake.endpoint,
    forcePathStyle: true,
    credentials: S3_CREDENTIALS,
    partSize: opts.partSize ?? 4096,
    maxAttempts: 1,
  });
behaviour('S3', () => s3());

describe('local object store specifics', () => {
  const root = path.join(tmp, 'local', 'objects');

  test('files are owner-only, written whole, and no temporary file remains', async () => {
    const store = new LocalObjectStore({ root });
    assert.equal(fs.statSync(root).mode & 0o777, 0o700);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow = Readable.from(
      (async function* () {
        yield Buffer.from('first half, ');
        await gate;
        yield Buffer.from('second half');
      })(),
    );
    const writing = store.put('o/s/t/1.chunk', slow);
    await new Promise((r) => setTimeout(r, 20));
    await fails(store.get('o/s/t/1.chunk'), 'object_not_found'); // a reader never sees half
    assert.deepEqual(await keys(store, 'o/'), []);
    release();
    await writing;
    assert.equal((await store.get('o/s/t/1.chunk')).toString(), 'first half, second half');
    assert.equal(fs.statSync(path.join(root, 'o/s/t/1.chunk')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.join(root, 'o/s')).mode & 0o777, 0o700);
    await assert.rejects(store.put('o/s/t/2.chunk', brokenStream([Buffer.from('partial')])));
    assert.deepEqual(fs.readdirSync(path.join(root, 'o/s/t')), ['1.chunk']);
  });

  test('nothing is written outside the root; deletePrefix prunes emptied folders', async () => {
    const store = new LocalObjectStore({ root });
    await fails(store.put('../outside', Buffer.of(1)), 'invalid_object_key');
    assert.deepEqual(fs.readdirSync(path.dirname(root)), ['objects']);
    await store.put('p/s/t/1.chunk', Buffer.of(1));
    await store.put('p/keep', Buffer.of(1));
    assert.equal(await store.deletePrefix('p/s/'), 1);
    assert.deepEqual(fs.readdirSync(path.join(root, 'p')), ['keep']);
    await fails(store.put('p/keep/child', Buffer.of(1)), 'invalid_object_key'); // a file cannot also be a folder
  });
});

describe('S3 object store specifics', () => {
  test('every request is signed; listing pages through continuation tokens', async () => {
    const store = s3();
    for (let i = 0; i < 8; i++) await store.put(`pages/${i}`, Buffer.of(i));
    const since = fake.requests.length;
    assert.equal((await keys(store, 'pages/')).length, 8);
    const lists = fake.requests.slice(since);
    assert.equal(lists.length, 3, lists.join('\n')); // pages of 3
    assert.ok(lists[1]?.includes('continuation-token='));
    assert.equal(await store.deletePrefix('pages/'), 8);
    assert.deepEqual(
      [...(fake.buckets.get('recordings')?.keys() ?? [])].filter((k) => k.startsWith('pages/')),
      [],
    );
    store.close();
  });

  test('a large stream goes up in parts; a small one in one request; a failed one is aborted', async () => {
    const store = s3({ partSize: 1024 });
    const big = randomBytes(2500);
    let since = fake.requests.length;
    await store.put('mp/big.bin', Readable.from([big.subarray(0, 700), big.subarray(700)]));
    const sent = fake.requests.slice(since);
    assert.ok(sent.some((r) => r.startsWith('POST /recordings/mp/big.bin?uploads')));
    assert.equal(sent.filter((r) => r.includes('x-id=UploadPart')).length, 3);
    assert.ok(fake.buckets.get('recordings')?.get('mp/big.bin')?.equals(big));
    since = fake.requests.length;
    await store.put('mp/small.bin', Readable.from([Buffer.from('small')]));
    assert.deepEqual(fake.requests.slice(since), ['PUT /recordings/mp/small.bin?x-id=PutObject']);
    await assert.rejects(
      store.put('mp/broken.bin', brokenStream([randomBytes(1500), randomBytes(1500)])),
      /client went away/,
    );
    assert.equal(fake.uploads.size, 0, 'the multipart upload was aborted');
    assert.equal(fake.buckets.get('recordings')?.has('mp/broken.bin'), false);
    store.close();
  });

  test('a missing bucket is an outage, not a missing object', async () => {
    const store = s3({ bucket: 'no-such-bucket' });
    await fails(store.get('x'), 'storage_unavailable');
    await fails(store.put('x', Buffer.of(1)), 'storage_unavailable');
    store.close();
  });
});

describe('key provider and object store from configuration', () => {
  test('the defaults need no setup: a local KEK file (0600) and a local folder under DATA_DIR', async () => {
    const dataDir = path.join(tmp, 'config-defaults');
    const storage = openStorage(parseConfig({ DATA_DIR: dataDir }));
    const { keyProvider, objectStore } = storage;
    assert.equal(keyProvider.name, 'local');
    assert.equal(objectStore.kind, 'local');
    const kekFiles = fs.readdirSync(path.join(dataDir, 'secrets')).filter((n) => /^kek-[0-9a-f]{16}$/.test(n));
    assert.equal(kekFiles.length, 1);
    assert.equal(fs.statSync(path.join(dataDir, 'secrets', kekFiles[0] ?? '')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(dataDir).mode & 0o777, 0o711);
    const c = { organizationId: 'o', sessionId: 's' };
    const dk = await keyProvider.generateDataKey(c);
    assert.equal(dk.wrapped.keyId, kekFiles[0]?.slice(4));
    await objectStore.put('o/s/k', Buffer.from('x'));
    assert.ok(fs.existsSync(path.join(dataDir, 'objects', 'o', 's', 'k')));
    storage.close();
  });

  test('LOCAL_KEK, aws-kms and s3 settings reach the implementations', async () => {
    const kms = await startFakeKms();
    const arn = kms.createKey('cfg-key');
    const kek = randomBytes(32).toString('base64');
    const local = openStorage(parseConfig({ DATA_DIR: path.join(tmp, 'config-kek'), LOCAL_KEK: kek }));
    assert.equal(
      (await local.keyProvider.generateDataKey({ organizationId: 'o', sessionId: 's' })).wrapped.keyId,
      kekId(Buffer.from(kek, 'base64')),
    );
    assert.equal(fs.existsSync(path.join(tmp, 'config-kek', 'secrets')), false);
    // The SDK takes credentials from its default chain; give it test ones through the environment it reads.
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = TEST_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = TEST_CREDENTIALS.secretAccessKey;
    const kmsOnly = openStorage(
      parseConfig({
        DATA_DIR: path.join(tmp, 'config-kms'),
        KEY_PROVIDER: 'aws-kms',
        AWS_KMS_KEY_ID: 'cfg-key',
        AWS_REGION: kms.region,
        AWS_KMS_ENDPOINT: kms.endpoint,
      }),
    );
    try {
      assert.equal(
        (await kmsOnly.keyProvider.generateDataKey({ organizationId: 'o', sessionId: 's' })).wrapped.keyId,
        arn,
      );
      assert.equal(kmsOnly.objectStore.kind, 'local');
    } finally {
      kmsOnly.close();
    }
    process.env.AWS_ACCESS_KEY_ID = S3_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = S3_CREDENTIALS.secretAccessKey;
    const s3only = openStorage(
      parseConfig({
        DATA_DIR: path.join(tmp, 'config-s3'),
        STORAGE: 's3',
        S3_BUCKET: 'recordings',
        S3_ENDPOINT: fake.endpoint,
        S3_FORCE_PATH_STYLE: 'yes',
      }),
    );
    try {
      assert.equal(s3only.keyProvider.name, 'local');
      await s3only.objectStore.put('cfg/x', Buffer.of(1));
      assert.ok(fake.buckets.get('recordings')?.get('cfg/x')?.equals(Buffer.of(1)));
    } finally {
      s3only.close();
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      else process.env.AWS_ACCESS_KEY_ID = saved.id;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
      await kms.close();
    }
  });

  test('incomplete or malformed settings stop start-up with every problem listed', () => {
    assert.throws(
      () => parseConfig({ KEY_PROVIDER: 'aws-kms', STORAGE: 's3' }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.deepEqual(e.problems.map((p) => p.split(':')[0]).sort(), ['AWS_KMS_KEY_ID', 'AWS_REGION', 'S3_BUCKET']);
        return true;
      },
    );
    assert.throws(() => parseConfig({ LOCAL_KEK: randomBytes(16).toString('base64') }), /LOCAL_KEK/);
    assert.throws(() => parseConfig({ KEY_PROVIDER: 'vault' }), /KEY_PROVIDER/);
    assert.throws(() => parseConfig({ S3_ENDPOINT: 'ftp://x' }), /S3_ENDPOINT/);
    assert.deepEqual(parseConfig({ STORAGE: 's3', S3_BUCKET: 'rec-bucket', AWS_REGION: 'eu-central-1' }).storage, {
      kind: 's3',
      bucket: 'rec-bucket',
      region: 'eu-central-1',
      endpoint: undefined,
      forcePathStyle: false,
    });
    assert.deepEqual(parseConfig({}).keys, { provider: 'local', localKek: undefined });
  });
});
