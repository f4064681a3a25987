/**
 * The chunk envelope: everything that was not sealed exactly here, under this key, fails to
 * open; and once the wrapped key is erased, nothing left on disk leads back to the plaintext.
 */
import assert from 'node:assert/strict';
import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  openBlob,
  openChunk,
  sealBlob,
  sealChunk,
  SealError,
  SEAL_FORMAT,
  SEAL_OVERHEAD,
  type ChunkBinding,
} from '../lib/chunks/seal.ts';
import { KeyError, LocalKeyProvider, parseWrappedKey } from '../lib/keys/index.ts';
import { LocalObjectStore } from '../lib/storage/LocalObjectStore.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-seal-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const key = randomBytes(32);
const at = (seq: number, over: Partial<ChunkBinding> = {}): ChunkBinding => ({
  organizationId: ORG,
  sessionId: SESSION,
  trackId: TRACK,
  seq,
  ...over,
});
const ORG = randomUUID();
const SESSION = randomUUID();
const TRACK = randomUUID();

function refusedOpen(fn: () => unknown, code = 'seal_open_failed'): void {
  assert.throws(fn, (err: unknown) => err instanceof SealError && err.code === code);
}

describe('chunk sealing', () => {
  test('a chunk opens with its key and binding; the envelope is format byte, nonce, ciphertext, tag', () => {
    const audio = randomBytes(24_000);
    const sealed = sealChunk(key, at(7), audio);
    assert.equal(sealed.length, audio.length + SEAL_OVERHEAD);
    assert.equal(sealed[0], SEAL_FORMAT);
    assert.ok(!sealed.includes(audio.subarray(0, 64)), 'no plaintext in the envelope');
    assert.ok(openChunk(key, at(7), sealed).equals(audio));
    const again = sealChunk(key, at(7), audio);
    assert.ok(!again.subarray(1, 13).equals(sealed.subarray(1, 13)), 'a fresh nonce per seal');
    assert.ok(openChunk(key, at(0), sealChunk(key, at(0), Buffer.alloc(0))).equals(Buffer.alloc(0)));
  });

  test('a flipped bit anywhere in the envelope fails to open', () => {
    const sealed = sealChunk(key, at(1), randomBytes(48));
    for (let i = 0; i < sealed.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = Buffer.from(sealed);
        bad[i] = (bad[i] ?? 0) ^ (1 << bit);
        refusedOpen(() => openChunk(key, at(1), bad), i === 0 ? 'seal_malformed' : 'seal_open_failed');
      }
    }
  });

  test('a chunk swapped, moved to another session, track or org, or sealed as seq 1 and read as 2, fails', () => {
    const one = sealChunk(key, at(1), Buffer.from('frame data of chunk one'));
    const two = sealChunk(key, at(2), Buffer.from('frame data of chunk two'));
    refusedOpen(() => openChunk(key, at(2), one));
    refusedOpen(() => openChunk(key, at(1), two));
    refusedOpen(() => openChunk(key, at(1, { sessionId: randomUUID() }), one));
    refusedOpen(() => openChunk(key, at(1, { trackId: randomUUID() }), one));
    refusedOpen(() => openChunk(key, at(1, { organizationId: randomUUID() }), one));
    // Field boundaries are unambiguous: moving characters between ids does not collide.
    const a = sealChunk(key, { organizationId: 'ab', sessionId: 'c', trackId: 't', seq: 1 }, Buffer.from('x'));
    refusedOpen(() => openChunk(key, { organizationId: 'a', sessionId: 'bc', trackId: 't', seq: 1 }, a));
  });

  test('a truncated or extended chunk fails to open', () => {
    const sealed = sealChunk(key, at(3), randomBytes(1000));
    for (const cut of [1, 15, 16, 17, 500])
      refusedOpen(() => openChunk(key, at(3), sealed.subarray(0, sealed.length - cut)));
    refusedOpen(() => openChunk(key, at(3), Buffer.concat([sealed.subarray(0, 20), sealed.subarray(40)])));
    refusedOpen(() => openChunk(key, at(3), Buffer.concat([sealed, Buffer.of(0)])));
    refusedOpen(() => openChunk(key, at(3), sealed.subarray(0, SEAL_OVERHEAD - 1)), 'seal_malformed');
    refusedOpen(() => openChunk(key, at(3), Buffer.alloc(0)), 'seal_malformed');
  });

  test('the wrong key fails to open; malformed keys and bindings are refused', () => {
    const sealed = sealChunk(key, at(4), randomBytes(100));
    refusedOpen(() => openChunk(randomBytes(32), at(4), sealed));
    refusedOpen(() => openChunk(key.subarray(0, 16), at(4), sealed), 'invalid_data_key');
    refusedOpen(() => openChunk(createSecretKey(randomBytes(16)), at(4), sealed), 'invalid_data_key');
    // The same key as a KeyObject (the SFU's hot path) is the same key.
    assert.equal(openChunk(createSecretKey(key), at(4), sealed).length, 100);
    assert.equal(openChunk(key, at(4), sealChunk(createSecretKey(key), at(4), Buffer.of(9))).toString('hex'), '09');
    refusedOpen(() => openChunk(createSecretKey(randomBytes(32)), at(4), sealed));
    refusedOpen(() => sealChunk(key, at(-1), Buffer.of(1)), 'invalid_seal_binding');
    refusedOpen(() => sealChunk(key, at(1.5), Buffer.of(1)), 'invalid_seal_binding');
    refusedOpen(() => sealChunk(key, at(1, { trackId: '' }), Buffer.of(1)), 'invalid_seal_binding');
  });

  test('a chunk cannot be opened as a transcript, nor a transcript as another kind or name', () => {
    const chunk = sealChunk(key, at(0), Buffer.from('{"text":"hello"}'));
    const blob = { organizationId: ORG, sessionId: SESSION, kind: 'transcript', name: TRACK };
    refusedOpen(() => openBlob(key, blob, chunk));
    const transcript = sealBlob(key, blob, Buffer.from('{"segments":[]}'));
    assert.equal(openBlob(key, blob, transcript).toString(), '{"segments":[]}');
    refusedOpen(() => openChunk(key, at(0, { trackId: TRACK }), transcript));
    refusedOpen(() => openBlob(key, { ...blob, kind: 'export' }, transcript));
    refusedOpen(() => openBlob(key, { ...blob, name: 'other' }, transcript));
    refusedOpen(() => openBlob(key, { ...blob, sessionId: randomUUID() }, transcript));
    refusedOpen(() => sealBlob(key, { ...blob, kind: 'chunk' }, Buffer.of(1)), 'invalid_seal_binding');
  });
});

/** Every 32-byte window of every file under `dir`, raw and (for text) base64/hex-decoded. */
function* candidateKeys(dir: string): Generator<Buffer> {
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const raw = fs.readFileSync(path.join(entry.parentPath, entry.name));
    const text = raw.toString('latin1');
    const forms = [
      raw,
      ...[...text.matchAll(/[A-Za-z0-9+/=_-]{40,}/g)].map((m) => Buffer.from(m[0], 'base64')),
      ...[...text.matchAll(/[0-9a-f]{64,}/g)].map((m) => Buffer.from(m[0], 'hex')),
    ];
    for (const form of forms) for (let i = 0; i + 32 <= form.length; i++) yield form.subarray(i, i + 32);
  }
}

function anyKeyOpens(dir: string, binding: ChunkBinding, sealed: Buffer): boolean {
  for (const k of candidateKeys(dir)) {
    try {
      openChunk(k, binding, sealed);
      return true;
    } catch {
      // not this one
    }
  }
  return false;
}

describe('cryptographic erasure', () => {
  test('after the wrapped key is erased, nothing stored opens a chunk', async () => {
    const dataDir = path.join(tmp, 'erasure');
    const provider = LocalKeyProvider.open({ secretsDir: path.join(dataDir, 'secrets') });
    const store = new LocalObjectStore({ root: path.join(dataDir, 'objects') });
    const context = { organizationId: ORG, sessionId: SESSION };
    const recordFile = path.join(dataDir, 'db', 'recording.json'); // stands in for the session row
    fs.mkdirSync(path.dirname(recordFile), { recursive: true });

    const dataKey = await provider.generateDataKey(context);
    fs.writeFileSync(recordFile, JSON.stringify({ wrappedKey: dataKey.wrapped }));
    const frames = Array.from({ length: 5 }, (_, seq) => Buffer.from(`opus frames of chunk ${seq} `.repeat(40)));
    for (const [seq, frame] of frames.entries())
      await store.put(`${ORG}/${SESSION}/${TRACK}/${seq}.chunk`, sealChunk(dataKey.plaintext, at(seq), frame));
    dataKey.plaintext.fill(0); // the recording ended: the SFU drops its copy

    // While the record exists, the wrapped key is the one path back to the audio.
    const wrapped = parseWrappedKey(
      (JSON.parse(fs.readFileSync(recordFile, 'utf8')) as { wrappedKey: unknown }).wrappedKey,
    );
    const unwrapped = await provider.decrypt(wrapped, context);
    const chunk0 = await store.get(`${ORG}/${SESSION}/${TRACK}/0.chunk`);
    assert.ok(openChunk(unwrapped, at(0), chunk0).equals(frames[0] as Buffer));
    // The scan below would find the key if it had been stored in any common form.
    const leakDir = path.join(tmp, 'leak-control');
    fs.mkdirSync(leakDir);
    fs.writeFileSync(path.join(leakDir, 'k.json'), JSON.stringify({ k: unwrapped.toString('base64') }));
    assert.equal(anyKeyOpens(leakDir, at(0), chunk0), true, 'the scan finds a stored key');
    unwrapped.fill(0);

    // Delete the recording: erase the wrapped key first.
    fs.rmSync(recordFile);

    // No byte sequence under DATA_DIR (KEK files, chunk objects, anything) is the data key…
    assert.equal(anyKeyOpens(dataDir, at(0), chunk0), false);
    // …no plaintext was ever written…
    for (const entry of fs.readdirSync(dataDir, { recursive: true, withFileTypes: true })) {
      if (entry.isFile())
        assert.ok(!fs.readFileSync(path.join(entry.parentPath, entry.name)).includes('opus frames'), entry.name);
    }
    // …and the provider cannot recreate the key: a new one for the same context is different,
    // and the old wrapped form, without which nothing unwraps, is gone.
    const fresh = await provider.generateDataKey(context);
    for (const [seq] of frames.entries()) {
      refusedOpen(() =>
        openChunk(
          fresh.plaintext,
          at(seq),
          fs.readFileSync(path.join(dataDir, 'objects', ORG, SESSION, TRACK, `${seq}.chunk`)),
        ),
      );
    }
  });

  test('a data key unwrapped under the wrong context is refused, so its chunks stay closed', async () => {
    const provider = LocalKeyProvider.open({ secretsDir: path.join(tmp, 'context', 'secrets') });
    const dk = await provider.generateDataKey({ organizationId: ORG, sessionId: SESSION });
    const sealed = sealChunk(dk.plaintext, at(0), Buffer.from('audio'));
    const other = { organizationId: ORG, sessionId: randomUUID() };
    await assert.rejects(
      provider.decrypt(dk.wrapped, other),
      (e: unknown) => e instanceof KeyError && e.code === 'key_unwrap_failed',
    );
    // Re-sealing under the other session's binding is no way around it either.
    refusedOpen(() => openChunk(dk.plaintext, at(0, { sessionId: other.sessionId }), sealed));
  });
});
